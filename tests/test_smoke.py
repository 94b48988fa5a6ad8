def test_create_and_get_user(scim):
    """A created user can be read back."""
    created = scim.create_user("bjensen", emails=[{"value": "b@example.com", "type": "work"}])
    response = scim.get(f"/Users/{created['id']}")
    assert response.status_code == 200
    assert response.get_json()["userName"] == "bjensen"
