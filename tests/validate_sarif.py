#!/usr/bin/python3
"""Validate SARIF logs against the SARIF 2.1.0 JSON schema (used by tests/unit/report_sarif_test.cpp).

Usage:
    /usr/bin/python3 tests/validate_sarif.py SCHEMA [--expect-invalid] FILE ...

Every FILE must satisfy SCHEMA; with --expect-invalid every FILE must fail it. The validator is the
one the schema's "$schema" names (draft-07 for the OASIS file tools/setup fetches).

One line is printed per failure:
    <file>: error at <json-pointer>: <message>
    <file>: valid, but expected to be invalid
Exit status: 0 when every file is as expected, 1 otherwise, 2 on bad usage or an unusable schema.
Needs python3-jsonschema (Debian).
"""

import json
import sys

try:
    import jsonschema
except ImportError:  # pragma: no cover
    sys.stderr.write("validate_sarif.py: python3-jsonschema is not installed\n")
    sys.exit(2)


def json_pointer(path):
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


def main(argv):
    args = argv[1:]
    expect_invalid = "--expect-invalid" in args
    args = [a for a in args if a != "--expect-invalid"]
    if len(args) < 2:
        sys.stderr.write(__doc__)
        return 2
    schema_path, files = args[0], args[1:]
    try:
        with open(schema_path, "rb") as f:
            schema = json.loads(f.read().decode("utf-8"))
    except (OSError, ValueError) as e:
        sys.stderr.write("validate_sarif.py: cannot read the schema %s: %s\n" % (schema_path, e))
        return 2
    # A wrong file in the schema's place must not make every log "valid".
    if schema.get("properties", {}).get("version", {}).get("enum") != ["2.1.0"]:
        sys.stderr.write("validate_sarif.py: %s is not the SARIF 2.1.0 schema\n" % schema_path)
        return 2
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    validator = cls(schema, format_checker=cls.FORMAT_CHECKER)

    ok = True
    for path in files:
        try:
            with open(path, "rb") as f:
                log = json.loads(f.read().decode("utf-8"))
        except (OSError, ValueError) as e:
            # Never a pass, not even with --expect-invalid: a wrong path must not pass vacuously.
            print("%s: error: cannot read: %s" % (path, e))
            ok = False
            continue
        errors = sorted(validator.iter_errors(log), key=lambda e: list(e.absolute_path))
        if expect_invalid:
            if not errors:
                print("%s: valid, but expected to be invalid" % path)
                ok = False
            continue
        for e in errors[:20]:
            print("%s: error at %s: %s" % (path, json_pointer(e.absolute_path), e.message[:300]))
        ok = ok and not errors
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
