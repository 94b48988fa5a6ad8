r"""Read a py-spy profile of live gunicorn workers; print each function's share of their time.

py-spy samples every process of a benchmark from outside, gunicorn's workers included, with
no change to the code measured. This reads its raw output (collapsed stacks, one line per
distinct stack with its sample count), keeps the samples taken inside a worker's request
(`handle_request`), and prints the inclusive share of those samples of every function whose
name matches PATTERN (by default, Rolecall's own modules), optionally only among the stacks
that pass through FRAME:

    .venv/bin/pip install py-spy     # a profiling tool, not a dependency of Rolecall
    .venv/bin/py-spy record --subprocesses --rate 250 --format raw -o /tmp/sync.raw -- \
        .venv/bin/python bench/sync.py --users 3000 --groups 30 --members 300
    .venv/bin/python bench/profile_shares.py /tmp/sync.raw
    .venv/bin/python bench/profile_shares.py /tmp/sync.raw --within "patch_group (scim"

py-spy slows the run about threefold; the shares, not the seconds, are the figures.
"""

import argparse
import re
from collections import Counter

OURS = r"\((app|rbac|scim)/"
_LINE_NUMBER = re.compile(r":\d+\)")


def shares(path: str, pattern: str, within: str | None) -> tuple[int, int, Counter]:
    """Return the worker samples, those within FRAME, and the inclusive count per function."""
    wanted = re.compile(pattern)
    inclusive: Counter = Counter()
    workers = selected = 0
    with open(path) as profile:
        for line in profile:
            stack, _, count = line.rstrip().rpartition(" ")
            if "handle_request" not in stack:
                continue
            samples = int(count)
            workers += samples
            if within is not None and within not in stack:
                continue
            selected += samples
            frames = {_LINE_NUMBER.sub(")", frame) for frame in stack.split(";")}
            inclusive.update({frame: samples for frame in frames if wanted.search(frame)})
    return workers, selected, inclusive


def main() -> None:
    """Print the shares."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("profile", help="py-spy record --format raw output")
    parser.add_argument("--pattern", default=OURS, help="functions to list (a regex)")
    parser.add_argument("--within", help="only stacks through this frame, e.g. 'create_user ('")
    parser.add_argument("--top", type=int, default=40)
    args = parser.parse_args()
    workers, selected, inclusive = shares(args.profile, args.pattern, args.within)
    if not selected:
        raise SystemExit("no worker samples matched")
    scope = f"the {100 * selected / workers:.1f} % through {args.within!r}" if args.within else ""
    print(f"{workers} samples in gunicorn workers' requests; shares of {scope or 'all of them'}")
    for frame, samples in inclusive.most_common(args.top):
        print(f"{100 * samples / selected:5.1f} %  {frame}")


if __name__ == "__main__":
    main()
