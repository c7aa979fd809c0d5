#!/usr/bin/env python3
"""Generates src/api/schema_gen.{c,h}: the input shapes of every action in
the spec files (flow-log, resource and tag actions), and for each shape a C
struct of its members (`struct in_<Shape>`) that the input layer fills once
(input_struct) so handlers read `in->FlowLogName`.

    tools/gen-schema.py [SPEC_DIR [OUT_DIR]]     (default: ../shared/spec)

Every service's api.json is one entry of SPECS (several services, one
output): a new service is a new entry. A member's C type in the struct:
string -> const char * (NULL: absent); int64, uint64, bool, float ->
const int64_t *, const uint64_t *, const int *, const double * (NULL:
absent); a structure -> const struct in_<Name> * (NULL: absent); a list ->
struct { const T *v; size_t n; } (v NULL: absent), T as above by value
(strings const char *); a structure that may also be a list
(OBJ_OR_LIST) is such a list, of one for an object.

The output is committed; `make check-schema` regenerates it into a temporary
folder and fails if it differs, so the tables never drift from the spec.
"""
import json
import os
import re
import sys

SPECS = ["vpc-flowlog-api.json", "vpc-resource-api.json", "tag-api.json"]
# Spec files kept in this repository (spec/), read after the shared ones:
# the subsets of other services' specs flowlogd serves (their meta says
# where they come from).
LOCAL_SPECS = ["cls-api.json"]
LOCAL_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "spec")
# Members that accept either one object or a list of them (see input.h).
OBJ_OR_LIST = {("DescribeFlowLogsRequest", "Filters")}
# Members the spec marks required that the handler checks itself instead
# (none: DescribeFlowLog's VpcId is required, as the spec says).
OPTIONAL = set()
SCALAR = {"string": "FT_STRING", "int64": "FT_INT", "uint64": "FT_UINT", "bool": "FT_BOOL",
          "float": "FT_FLOAT", "double": "FT_FLOAT"}
# The C type of a scalar in the input struct (see input.h, input_struct).
CTYPE = {"FT_STRING": "const char *", "FT_INT": "int64_t", "FT_UINT": "uint64_t",
         "FT_BOOL": "int", "FT_FLOAT": "double"}
IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def shape_key(obj):
    """What of a structure the generated code depends on."""
    return [(m["name"], m.get("type"), m.get("member"), bool(m.get("required")),
             bool(m.get("disabled"))) for m in obj["members"]]


def main():
    spec_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(__file__), "..", "..", "shared", "spec")
    out_dir = sys.argv[2] if len(sys.argv) > 2 else os.path.join(
        os.path.dirname(__file__), "..", "src", "api")
    # Structures are named per spec file: two files may define one name
    # differently (vpc's Tag is {Key, Value}, the tag service's is {TagKey,
    # TagValue, Category}). The first definition keeps the name; a later,
    # different one becomes <service>_<name> in C; an identical one is shared.
    objects = {}  # C name -> (spec name, structure, {spec name: C name} of its file)
    actions = []
    for name, folder in [(n, spec_dir) for n in SPECS] + [(n, LOCAL_DIR) for n in LOCAL_SPECS]:
        with open(os.path.join(folder, name), encoding="utf-8") as f:
            d = json.load(f)
        service = d["meta"].get("service", "")
        version = d["meta"].get("apiVersion", "")
        local = {}
        for obj_name, obj in d["objects"].items():
            cname = obj_name
            if cname in objects and shape_key(objects[cname][1]) != shape_key(obj):
                cname = f"{service}_{obj_name}"
            local[obj_name] = cname
            if cname not in objects:
                objects[cname] = (obj_name, obj, local)
        for act_name, act in d["actions"].items():
            actions.append((act_name, service, version, local[act["input"]]))

    emitted, order = set(), []

    def visit(cname):
        if cname in emitted:
            return
        emitted.add(cname)
        _, obj, local = objects[cname]
        for m in obj["members"]:
            if m.get("type") in ("object", "list") and m["member"] not in SCALAR:
                visit(local[m["member"]])
        order.append(cname)

    for _, _, _, inp in actions:
        visit(inp)

    def kinds(cname, m):
        """(type, elem, sub-structure C name or None) of member m."""
        _, _, local = objects[cname]
        t, mem = m["type"], m["member"]
        if t == "list":
            if mem in SCALAR:
                return "FT_LIST", SCALAR[mem], None
            return "FT_LIST", "FT_OBJECT", local[mem]
        if t == "object":
            return "FT_OBJECT", "0", local[mem]
        if t == "int":
            return SCALAR.get(mem, "FT_INT"), "0", None
        return {"string": "FT_STRING", "bool": "FT_BOOL", "float": "FT_FLOAT"}[t], "0", None

    def field(cname, m):
        obj_name = objects[cname][0]
        flags = "FF_OBJ_OR_LIST" if (obj_name, m["name"]) in OBJ_OR_LIST else "0"
        req = "1" if m.get("required") and (obj_name, m["name"]) not in OPTIONAL else "0"
        t, elem, sub = kinds(cname, m)
        shape = f"&shape_{sub}" if sub else "NULL"
        return (f'{{"{m["name"]}", {t}, {elem}, {req}, {flags}, {shape}, '
                f'offsetof(struct in_{cname}, {m["name"]})}}')

    def member(cname, m):
        """The declaration of m in struct in_<cname>."""
        obj_name = objects[cname][0]
        if not IDENT.match(m["name"]):
            sys.exit(f"gen-schema: {obj_name}.{m['name']} is no C identifier")
        t, elem, sub = kinds(cname, m)
        if t == "FT_OBJECT" and (obj_name, m["name"]) in OBJ_OR_LIST:
            t, elem = "FT_LIST", "FT_OBJECT"
        if t == "FT_LIST":
            et = f"const struct in_{sub} *" if elem == "FT_OBJECT" else (
                "const char *const *" if elem == "FT_STRING" else f"const {CTYPE[elem]} *")
            return f"struct {{ {et}v; size_t n; }} {m['name']};"
        if t == "FT_OBJECT":
            return f"const struct in_{sub} *{m['name']};"
        if t == "FT_STRING":
            return f"const char *{m['name']};"
        return f"const {CTYPE[t]} *{m['name']};"

    def members_of(cname):
        """(spec name, members not disabled) of a structure."""
        obj_name, obj, _ = objects[cname]
        return obj_name, [m for m in obj["members"] if not m.get("disabled")]

    c = ["/* GENERATED by tools/gen-schema.py from shared/spec and spec/: do not edit. */",
         "#include <stddef.h>", "", '#include "api/schema_gen.h"', ""]
    structs = []  # the header's struct in_<Name> of each structure, in the same pass
    for cname in order:
        obj_name, members = members_of(cname)
        c.append(f"static const struct field fields_{cname}[] = {{")
        structs.append(f"struct in_{cname} {{")
        for m in members:
            c.append(f"    {field(cname, m)},")
            structs.append(f"    {member(cname, m)}")
        if not members:
            c.append('    {NULL, 0, 0, 0, 0, NULL, 0},')
            structs.append("    char none_; /* no members */")
        c.append("};")
        structs.append("};")
        c.append(f'const struct shape shape_{cname} = {{"{obj_name}", fields_{cname}, '
                 f"{len(members)}, sizeof(struct in_{cname})}};")
        c.append("")
    c.append("const struct spec_action spec_actions[] = {")
    for act_name, service, version, inp in actions:
        c.append(f'    {{"{act_name}", "{service}", "{version}", &shape_{inp}}},')
    c.append("};")
    c.append(f"const size_t spec_nactions = {len(actions)};")

    h = ["/* GENERATED by tools/gen-schema.py from shared/spec and spec/: do not edit. */",
         "#ifndef FLOWLOGD_API_SCHEMA_GEN_H", "#define FLOWLOGD_API_SCHEMA_GEN_H", "",
         "#include <stddef.h>", "#include <stdint.h>", "",
         '#include "api/input.h"', "",
         "/** One action of the spec: its service, version and input shape. */",
         "struct spec_action {", "    const char *name, *service, *version;",
         "    const struct shape *input;", "};", "",
         "extern const struct spec_action spec_actions[];",
         "extern const size_t spec_nactions;", ""]
    h.append("/* The members of each structure, filled by input_struct. */")
    h += structs
    h.append("")
    for cname in order:
        h.append(f"extern const struct shape shape_{cname};")
    h += ["", "#endif"]
    with open(os.path.join(out_dir, "schema_gen.c"), "w", encoding="utf-8") as f:
        f.write("\n".join(c) + "\n")
    with open(os.path.join(out_dir, "schema_gen.h"), "w", encoding="utf-8") as f:
        f.write("\n".join(h) + "\n")


if __name__ == "__main__":
    main()
