"""openapi_check.py: what tests/http/test_gateway.py checks an OpenAPI
document with: its structure as OpenAPI 3.1 requires it (the fields the
specification makes required, $refs that resolve, path parameters that
match the templates, every schema a valid JSON Schema 2020-12 schema), and
the answers and request bodies a test saw against it (python3-jsonschema).
No network, no state: functions of the document and what was seen."""
import json
import re

import jsonschema


def resolve(doc, node):
    seen = 0
    while isinstance(node, dict) and "$ref" in node and seen < 10:
        ref = node["$ref"]
        if not ref.startswith("#/"):
            return None
        node = doc
        for part in ref[2:].split("/"):
            node = node.get(part.replace("~1", "/").replace("~0", "~")) \
                if isinstance(node, dict) else None
        seen += 1
    return node


def all_refs(node, out):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str):
                out.append(v)
            else:
                all_refs(v, out)
    elif isinstance(node, list):
        for v in node:
            all_refs(v, out)
    return out


METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def structure_errors(doc):
    """OpenAPI 3.1's structure, as far as its spec's required fields go,
    and every schema in it a valid JSON Schema 2020-12 schema."""
    errs = []
    V = jsonschema.Draft202012Validator
    if not re.match(r"^3\.1\.\d+$", str(doc.get("openapi"))):
        errs.append("openapi is not 3.1.x: %r" % doc.get("openapi"))
    info = doc.get("info")
    if not (isinstance(info, dict) and isinstance(info.get("title"), str)
            and isinstance(info.get("version"), str)):
        errs.append("info needs title and version (strings)")
    if not any(k in doc for k in ("paths", "components", "webhooks")):
        errs.append("one of paths, components, webhooks is required")
    for ref in all_refs(doc, []):
        if resolve(doc, {"$ref": ref}) is None:
            errs.append("$ref %s does not resolve" % ref)
    schemes = (doc.get("components") or {}).get("securitySchemes") or {}
    for req in doc.get("security", []):
        for name in req:
            if name not in schemes:
                errs.append("security names an unknown scheme %s" % name)
    op_ids = []
    for path, item in (doc.get("paths") or {}).items():
        if not path.startswith("/"):
            errs.append("path %s does not start with /" % path)
        tmpl = set(re.findall(r"\{([^}]+)\}", path))
        for m, op in item.items():
            if m not in METHODS:
                if m not in ("summary", "description", "servers",
                             "parameters", "$ref"):
                    errs.append("%s: %s is not a method" % (path, m))
                continue
            where = "%s %s" % (m.upper(), path)
            if op.get("operationId"):
                op_ids.append(op["operationId"])
            resps = op.get("responses")
            if not isinstance(resps, dict) or not resps:
                errs.append(where + ": no responses")
                resps = {}
            for code, rs in resps.items():
                if not re.match(r"^([1-5][0-9]{2}|[1-5]XX|default)$", code):
                    errs.append("%s: response key %s" % (where, code))
                rs = resolve(doc, rs)
                if not isinstance(rs, dict) or not isinstance(
                        rs.get("description"), str):
                    errs.append("%s: response %s has no description" %
                                (where, code))
                    continue
                for mt, media in (rs.get("content") or {}).items():
                    if "schema" in media:
                        try:
                            V.check_schema(media["schema"])
                        except jsonschema.SchemaError as e:
                            errs.append("%s %s %s: schema: %s" % (
                                where, code, mt, e.message))
            params = [resolve(doc, p) for p in op.get("parameters", [])]
            seen = set()
            for p in params:
                if not isinstance(p, dict) or "name" not in p or \
                        p.get("in") not in ("query", "header", "path",
                                            "cookie"):
                    errs.append("%s: a parameter without name or in" % where)
                    continue
                if (p["name"], p["in"]) in seen:
                    errs.append("%s: parameter %s twice" % (where, p["name"]))
                seen.add((p["name"], p["in"]))
                if p["in"] == "path" and p.get("required") is not True:
                    errs.append("%s: path parameter %s must be required" %
                                (where, p["name"]))
                if "schema" in p:
                    try:
                        V.check_schema(p["schema"])
                    except jsonschema.SchemaError as e:
                        errs.append("%s: parameter %s: %s" % (
                            where, p["name"], e.message))
            declared = {p["name"] for p in params if isinstance(p, dict)
                        and p.get("in") == "path"}
            if declared != tmpl:
                errs.append("%s: path parameters %s, template has %s" % (
                    where, sorted(declared), sorted(tmpl)))
            body = resolve(doc, op.get("requestBody"))
            if body is not None:
                if not isinstance(body, dict) or not isinstance(
                        body.get("content"), dict):
                    errs.append(where + ": requestBody without content")
                else:
                    for mt, media in body["content"].items():
                        if "schema" in media:
                            try:
                                V.check_schema(media["schema"])
                            except jsonschema.SchemaError as e:
                                errs.append("%s: request %s: %s" % (
                                    where, mt, e.message))
    dup = {i for i in op_ids if op_ids.count(i) > 1}
    if dup:
        errs.append("operationId used twice: %s" % sorted(dup))
    for name, s in ((doc.get("components") or {}).get("schemas") or {}).items():
        try:
            V.check_schema(s)
        except jsonschema.SchemaError as e:
            errs.append("components.schemas.%s: %s (at %s)" % (
                name, e.message, "/".join(map(str, e.path))))
    return errs


def template_of(doc, path):
    path = path.split("?")[0]
    paths = doc.get("paths") or {}
    if path in paths:
        return path
    for tmpl in paths:
        rx = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(tmpl)) + "$"
        if re.match(rx, path):
            return tmpl
    return None


def validator_for(doc, schema):
    resolver = jsonschema.RefResolver.from_schema(doc)
    return jsonschema.Draft202012Validator(schema, resolver=resolver)


def response_spec(doc, op, status):
    resps = op.get("responses") or {}
    for key in (str(status), "%dXX" % (status // 100), "default"):
        if key in resps:
            return key, resolve(doc, resps[key])
    return None, None



def check_seen(doc, seen):
    """Each answer seen (objects with method, url, status, type, json,
    sent) against doc. Returns a dict: used ("METHOD /template"),
    missing (not in doc), undeclared (statuses), bad (mismatches),
    notes (the console's HTML, for a browser and not held to the API),
    checked (answers validated), bodies (request bodies validated)."""
    used, missing, undeclared, bad, checked, bodies = set(), set(), set(), [], 0, 0
    notes = set()   # the console's HTML: for a browser, not held to the API
    for r in seen:
        tmpl = template_of(doc, r.url)
        m = r.method.lower()
        if tmpl is None or m not in doc["paths"][tmpl]:
            if r.status not in (404, 405):     # the ones we meant to miss
                missing.add("%s %s" % (r.method, r.url.split("?")[0]))
            continue
        used.add("%s %s" % (r.method, tmpl))
        op = doc["paths"][tmpl][m]
        key, spec = response_spec(doc, op, r.status)
        html = tmpl.startswith("/console")
        if spec is None:
            (notes if html else undeclared).add("%s %s %d is not declared" % (
                r.method, tmpl, r.status))
            continue
        content = spec.get("content") or {}
        media = None
        for mt, md in content.items():
            if mt.split(";")[0].strip() == r.type:
                media = md
        if content and r.status != 304 and media is None and html:
            notes.add("%s %s %d answers %s, the document says %s" % (
                r.method, tmpl, r.status, r.type, sorted(content)))
        elif content and r.status != 304 and media is None:
            bad.append("%s %s %d: Content-Type %s, document has %s" % (
                r.method, tmpl, r.status, r.type, sorted(content)))
            continue
        if media and "schema" in media and r.json is not None:
            errors = list(validator_for(doc, media["schema"])
                          .iter_errors(r.json))
            checked += 1
            if errors:
                bad.append("%s %s %d: %s" % (r.method, tmpl, r.status,
                                             errors[0].message))
        # The request bodies: a body the gateway took must fit the
        # document's schema; an unknown field it refused must not.
        rb = resolve(doc, op.get("requestBody"))
        if rb and r.sent is not None and r.status in (200, 201, 400):
            try:
                sent = json.loads(r.sent)
            except ValueError:
                continue
            schema = ((rb.get("content") or {}).get("application/json") or
                      {}).get("schema")
            if schema is None or not isinstance(sent, dict):
                continue
            fits = not list(validator_for(doc, schema).iter_errors(sent))
            detail = (r.json or {}).get("detail", "")
            bodies += 1
            if r.status < 300 and not fits:
                bad.append("%s %s: a body the gateway took does not fit the "
                           "document's requestBody" % (r.method, tmpl))
            if r.status == 400 and "unknown field" in detail and fits:
                bad.append("%s %s: a body refused for an unknown field fits "
                           "the document's requestBody" % (r.method, tmpl))
    return dict(used=used, missing=missing, undeclared=undeclared,
                bad=bad, notes=notes, checked=checked, bodies=bodies)
