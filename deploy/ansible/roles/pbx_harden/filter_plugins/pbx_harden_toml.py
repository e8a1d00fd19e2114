"""to_pbx_toml: an answers dict as TOML (tables of scalars, lists and inline tables)."""

import json


def _value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        # JSON's string escapes are valid TOML basic-string escapes.
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join("%s = %s" % (k, _value(x)) for k, x in v.items()) + " }"
    raise ValueError("pbx_harden: cannot write %r (%s) into the answers file" % (v, type(v)))


def to_pbx_toml(answers):
    out = []
    for section, keys in answers.items():
        if not isinstance(keys, dict):
            raise ValueError("pbx_harden: answers key %s must be a table" % section)
        out.append("[%s]" % section)
        for k, v in keys.items():
            if v is None:  # null: the key is left out (e.g. a host that unsets user.password)
                continue
            out.append("%s = %s" % (k, _value(v)))
        out.append("")
    return "\n".join(out)


class FilterModule(object):
    def filters(self):
        return {"to_pbx_toml": to_pbx_toml}
