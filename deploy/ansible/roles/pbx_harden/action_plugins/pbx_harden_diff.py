"""pbx_harden_diff: show `pbx-harden plan --format json` as a diff (ansible --check --diff)."""

from ansible.plugins.action import ActionBase


class ActionModule(ActionBase):
    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        plan = self._task.args.get("plan") or {}
        text = []
        for e in plan.get("errors", []):
            text.append("error: %s: %s" % (e.get("key") or "-", e.get("message")))
        for w in plan.get("warnings", []):
            text.append("warning: %s: %s" % (w.get("key") or "-", w.get("message")))
        for f in plan.get("files", []):
            text.append("# %s (%s)" % (f.get("path"), "; ".join(f.get("why", []))))
            text.append(f.get("diff", "").rstrip("\n"))
        if plan.get("commands"):
            text.append("Commands, in order:")
            text.extend("  " + c for c in plan["commands"])
        for c in plan.get("checks", []):
            text.append("[%s] %s%s" % (c["status"], c["name"],
                                       ": " + c["detail"] if c.get("detail") else ""))
        result["changed"] = bool(plan.get("changed")) and bool(self._task.args.get("report_change"))
        result["diff"] = {"prepared": "\n".join(text) + "\n"}
        result["msg"] = "changes planned" if plan.get("changed") else "no changes"
        return result
