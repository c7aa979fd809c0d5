#!/usr/bin/env python3
"""Writes a spec file in the generator's format (the api.json of
tencentcloud-cli: actions, objects with members {name, type, member,
required, document}) for a subset of a service's actions, read from the
request structures of the official Node SDK's models (cls_models.d.ts: the
SDK is generated from the same API definition as tccli's api.json).

    tools/spec-from-sdk.py MODELS.d.ts SERVICE VERSION ACTION... > spec/NAME.json

Used for spec/cls-api.json (see its meta.sources). Only the input side is
kept: the generator makes input shapes; the handlers write the outputs.
"""
import json
import re
import sys

SCALAR = {"string": ("string", "string"), "number": ("int", "int64"),
          "boolean": ("bool", "bool")}


def parse(path):
    text = open(path, encoding="utf-8").read()
    objs = {}
    for m in re.finditer(r"/\*\*\s*\n\s*\*\s*(.*?)\n\s*\*/\s*\nexport interface (\w+) \{\n(.*?)\n\}",
                         text, re.S):
        doc, name, body = m.group(1).strip(), m.group(2), m.group(3)
        members = []
        for f in re.finditer(r"/\*\*(.*?)\*/\s*\n\s*(\w+)(\?)?: ([^;]+);", body, re.S):
            fdoc = " ".join(l.strip().lstrip("*").strip() for l in f.group(1).splitlines()).strip()
            fname, opt, t = f.group(2), f.group(3), f.group(4).strip()
            lm = re.fullmatch(r"Array<(\w+)>", t)
            if lm:
                inner = lm.group(1)
                mem = SCALAR[inner][1] if inner in SCALAR else inner
                typ = "list"
            elif t in SCALAR:
                typ, mem = SCALAR[t]
            else:
                typ, mem = "object", t
            members.append({"name": fname, "type": typ, "member": mem,
                            "required": not opt, "document": fdoc})
        objs[name] = {"document": doc, "members": members, "type": "object"}
    return objs


def main():
    path, service, version, actions = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    objs = parse(path)
    out_objs, out_actions = {}, {}

    def visit(name):
        if name in out_objs:
            return
        out_objs[name] = objs[name]
        for m in objs[name]["members"]:
            if m["type"] in ("object", "list") and m["member"] in objs:
                visit(m["member"])

    for a in actions:
        out_actions[a] = {"input": a + "Request", "output": a + "Response", "status": "online"}
        visit(a + "Request")
    json.dump({"meta": {"service": service, "apiVersion": version},
               "actions": out_actions, "objects": dict(sorted(out_objs.items()))},
              sys.stdout, ensure_ascii=False, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
