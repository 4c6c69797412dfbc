"""The Lambda layer carrying our functions' third-party runtime libraries."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cdktf import AssetType, Fn, TerraformAsset
from cdktf_cdktf_provider_aws.lambda_layer_version import LambdaLayerVersion
from constructs import Construct

from constructs_lib.base.python_function import DEFAULT_ARCHITECTURE, DEFAULT_RUNTIME
from constructs_lib.code_archive import build_archive

# Built by `make layer` (tools/build_layer.py) from lambda_functions/requirements.txt.
DEFAULT_LAYER_DIR = Path(__file__).resolve().parents[2] / "build" / "layer"


@dataclass(frozen=True, kw_only=True)
class DependenciesLayerProps:
    layer_name: str
    # A directory whose python/ folder holds the installed packages.
    layer_dir: Path = DEFAULT_LAYER_DIR

    def __post_init__(self) -> None:
        if not (self.layer_dir / "python").is_dir():
            raise ValueError(
                f"layer_dir {self.layer_dir} has no python/ folder; build it with `make layer`"
            )


class DependenciesLayer(Construct):
    """A layer version packaged from a built directory as a TerraformAsset."""

    def __init__(
        self, scope: Construct, construct_id: str, *, props: DependenciesLayerProps
    ) -> None:
        super().__init__(scope, construct_id)
        # A FILE asset holding our own zip: see constructs_lib/code_archive.py for why. The
        # layer's bytecode is kept: tools/build_layer.py compiles it reproducibly for 3.12.
        archive = build_archive(
            props.layer_dir, props.layer_dir.with_suffix(".zip"), keep_bytecode=True
        )
        self.asset = TerraformAsset(self, "code", path=str(archive), type=AssetType.FILE)
        self.layer = LambdaLayerVersion(
            self,
            "layer",
            layer_name=props.layer_name,
            filename=self.asset.path,
            source_code_hash=Fn.filebase64sha256(self.asset.path),
            compatible_runtimes=[DEFAULT_RUNTIME],
            compatible_architectures=[DEFAULT_ARCHITECTURE],
        )
