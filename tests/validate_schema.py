#!/usr/bin/python3
"""Validate nostale scenario files against scenarios/scenario.schema.json.

Usage:
    /usr/bin/python3 tests/validate_schema.py SCHEMA [DIR ...] [--expect-invalid DIR ...] [-v]

Every *.json under each DIR (recursively) must satisfy the schema.  Every *.json under an
--expect-invalid DIR must FAIL it (a JSON syntax error or an empty file counts as a failure).  If an
--expect-invalid DIR holds an `expected.txt` (lines `<file name> <substring>`), each file must be
listed there and at least one of its error lines must contain the substring.

One line is printed per failure:
    <file>:<line>:<col>: error: <message>          (JSON syntax error, empty file)
    <file>: error at <json-pointer>: <message>     (schema violation)
Exit status: 0 when everything is as expected, 1 otherwise, 2 on bad usage.
Needs python3-jsonschema >= 4.0 (draft 2020-12).
"""

import argparse
import json
import os
import sys

try:
    import jsonschema
    from jsonschema.exceptions import best_match
except ImportError:  # pragma: no cover
    sys.stderr.write("validate_schema.py: python3-jsonschema is not installed\n")
    sys.exit(2)


class DuplicateKey(ValueError):
    pass


def _no_duplicates(pairs):
    obj = {}
    for key, value in pairs:
        if key in obj:
            raise DuplicateKey(key)
        obj[key] = value
    return obj


def json_pointer(path):
    parts = [str(p).replace("~", "~0").replace("/", "~1") for p in path]
    return "".join("/" + p for p in parts)


def load(path):
    """Return (instance, None) or (None, [error line])."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        return None, ["%s: error: cannot read: %s" % (path, e.strerror)]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        return None, ["%s:1:%d: error: not UTF-8" % (path, e.start + 1)]
    if not text.strip():
        return None, ["%s:1:1: error: empty file" % path]
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates), None
    except DuplicateKey as e:
        return None, ["%s: error: duplicate key %s" % (path, json.dumps(str(e)))]
    except json.JSONDecodeError as e:
        return None, ["%s:%d:%d: error: %s" % (path, e.lineno, e.colno, e.msg)]


def _flatten(errors):
    for err in errors:
        yield err
        if err.context:
            yield from _flatten(err.context)


def schema_errors(validator, path, instance, verbose):
    """Return the list of error lines: the best-matching error first, then (for substring
    checks, or printed with -v) every error and sub-error."""
    errors = sorted(validator.iter_errors(instance), key=lambda e: list(map(str, e.absolute_path)))
    if not errors:
        return [], []

    def fmt(err):
        return "%s: error at %s: %s" % (path, json_pointer(err.absolute_path), err.message)

    best = best_match(errors)
    shown = [fmt(best)]
    if verbose:
        shown += ["    " + fmt(e) for e in errors if e is not best]
    every = [fmt(e) for e in _flatten(errors)]
    return shown, every


def json_files(directory, skip):
    found = []
    for root, dirs, files in os.walk(directory):
        dirs.sort()
        for name in sorted(files):
            if name.endswith(".json"):
                full = os.path.join(root, name)
                if skip and os.path.exists(full) and os.path.samefile(full, skip):
                    continue
                found.append(full)
    return found


def read_expected(directory):
    path = os.path.join(directory, "expected.txt")
    if not os.path.exists(path):
        return None, []
    table, problems = {}, []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            parts = line.split(None, 1)
            if len(parts) != 2:
                problems.append("%s:%d: error: expected `<file> <substring>`" % (path, number))
                continue
            if parts[0] in table:
                problems.append("%s:%d: error: %s listed twice" % (path, number, parts[0]))
            table[parts[0]] = parts[1].strip()
    return table, problems


def main(argv):
    ap = argparse.ArgumentParser(description="Validate nostale scenarios against the JSON Schema.")
    ap.add_argument("schema")
    ap.add_argument("dirs", nargs="*", metavar="DIR", help="directories whose *.json must be valid")
    ap.add_argument("--expect-invalid", action="append", default=[], metavar="DIR",
                    help="directory whose *.json must all fail validation (repeatable)")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every error, not only the best")
    args = ap.parse_args(argv)
    if not args.dirs and not args.expect_invalid:
        ap.error("give at least one DIR or --expect-invalid DIR")

    try:
        with open(args.schema, encoding="utf-8") as f:
            schema = json.load(f)
        jsonschema.Draft202012Validator.check_schema(schema)
    except (OSError, ValueError, jsonschema.exceptions.SchemaError) as e:
        sys.stderr.write("%s: error: bad schema: %s\n" % (args.schema, e))
        return 2
    validator = jsonschema.Draft202012Validator(schema)

    for d in args.dirs + args.expect_invalid:
        if not os.path.isdir(d):
            sys.stderr.write("%s: error: not a directory\n" % d)
            return 2

    failures = 0
    valid = 0
    for d in args.dirs:
        for path in json_files(d, args.schema):
            instance, errs = load(path)
            if errs is None:
                errs, _ = schema_errors(validator, path, instance, args.verbose)
            if errs:
                failures += 1
                for line in errs:
                    print(line)
            else:
                valid += 1

    rejected = 0
    for d in args.expect_invalid:
        expected, problems = read_expected(d)
        for p in problems:
            print(p)
            failures += 1
        seen = set()
        for path in json_files(d, args.schema):
            name = os.path.relpath(path, d)
            seen.add(name)
            instance, errs = load(path)
            every = errs
            if errs is None:
                errs, every = schema_errors(validator, path, instance, args.verbose)
            if not errs:
                print("%s: error: expected to fail schema validation, but it is valid" % path)
                failures += 1
                continue
            rejected += 1
            if args.verbose:
                for line in errs:
                    print(line)
            if expected is None:
                continue
            if name not in expected:
                print("%s: error: not listed in %s" % (path, os.path.join(d, "expected.txt")))
                failures += 1
            elif not any(expected[name] in line for line in every):
                print("%s: error: no error line contains %r; got: %s" % (path, expected[name], errs[0]))
                failures += 1
        if expected is not None:
            for name in sorted(set(expected) - seen):
                print("%s: error: listed but no such file" % os.path.join(d, name))
                failures += 1

    if args.dirs:
        print("%d scenarios valid" % valid)
    if args.expect_invalid:
        print("%d bad inputs rejected" % rejected)
    if failures:
        print("%d failure%s" % (failures, "" if failures == 1 else "s"))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
