"""Rolecall's framework-free domain: tenants, directories, principals and their access."""
