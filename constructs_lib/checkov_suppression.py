"""Record a checkov suppression on the resource that causes the finding.

checkov cannot read inline skip comments from CDKTF's JSON output (bridgecrewio/checkov#4634,
hashicorp/terraform-cdk#3609), so constructs write each suppression into the resource's
``"//"`` comment field, in the shape that issue proposes::

    "//": {"checkov": {"skip": [{"id": "CKV_AWS_18", "comment": "why it does not apply"}]}}

``tools/security_scan.py`` runs checkov and honours exactly these entries, per resource.
cdktf 0.20 drops a "//" override on a data source (it writes its own metadata there), so
on a policy document the entry goes into the first statement's "//" instead, which Terraform
also ignores as a comment.
"""

from __future__ import annotations

from weakref import WeakKeyDictionary

from cdktf import TerraformDataSource, TerraformElement

# Every suppression so far, per element: each call rewrites the element's whole list. Keyed
# by the Python object, so nothing leaks between apps and no jsii round trip is spent on it.
_SKIPS: WeakKeyDictionary[TerraformElement, list[dict[str, str]]] = WeakKeyDictionary()


def skip_check(element: TerraformElement, check_id: str, reason: str) -> None:
    """Suppress one checkov check on one resource; the reason is mandatory."""
    if not reason.strip():
        raise ValueError(f"a suppression of {check_id} needs a reason")
    skips = _SKIPS.setdefault(element, [])
    skips.append({"id": check_id, "comment": reason})
    path = "statement.0.//" if isinstance(element, TerraformDataSource) else "//"
    element.add_override(path, {"checkov": {"skip": list(skips)}})
