"""Every difference between a deployment to the local emulator and one to AWS, decided here.

``DeploymentTarget.intent`` is the only thing the stacks consult: for AWS it is the secure
default, and for an emulator ``EmulatorProfile.intent()`` relaxes exactly what the emulator
cannot do, each with its reason. Constructs never learn that an emulator exists; they receive
plain intent (an endpoint override, ``deny_insecure_transport=False``).
"""

from __future__ import annotations

from dataclasses import dataclass

from constructs_lib.specs import EndpointOverride

# Emulators accept any credentials; these are the conventional placeholders.
EMULATOR_ACCESS_KEY = "test"
EMULATOR_SECRET_KEY = "test"  # noqa: S105 - not a secret, the emulator ignores it
# moto treats the aws:SecureTransport condition as always false and then refuses every object
# call on the bucket, Terraform's own state reads included.
INSECURE_TRANSPORT_REASON = "moto cannot evaluate aws:SecureTransport"
# moto applies a bucket policy's Deny without its Condition, so "deny PutObject unless aws:kms"
# would refuse every write, Terraform's encrypted state writes included.
UNENCRYPTED_WRITES_REASON = "moto evaluates bucket-policy Deny statements without conditions"
# The emulator is one throwaway account; there is nothing to pin.
ACCOUNT_PIN_REASON = "the emulator is a single local account"
# moto 5.2.5 stores CodeDeploy applications and groups but cannot update or delete them and
# never shifts an alias: a gradual rollout is planned for AWS only; the alias moves at apply.
GRADUAL_ROLLOUT_REASON = "moto has no CodeDeploy deployments that shift Lambda aliases"
# moto 5.2.5 has no provisioned concurrency API.
PROVISIONED_CONCURRENCY_REASON = "moto has no Lambda provisioned concurrency"


@dataclass(frozen=True, kw_only=True)
class DeploymentIntent:
    """What the stacks build differently for one target, as plain values constructs take."""

    # Where every AWS call of the provider and the state backend goes; None is AWS itself.
    endpoint: EndpointOverride | None = None
    # The TLS-only Deny statement on buckets.
    deny_insecure_transport: bool = True
    # A plan fails while alarms would page nobody; nobody is paged from an emulator anyway.
    require_alarm_subscriber: bool = True
    # The state bucket's Deny of PutObject without SSE-KMS.
    deny_unencrypted_writes: bool = True
    # Staging and prod refuse to plan or deploy until their account is pinned.
    require_account_pin: bool = True
    # CodeDeploy moves the `live` alias where the environment's rollout is gradual.
    gradual_rollout: bool = True
    # Functions keep the provisioned concurrency their sizing asks for.
    provisioned_concurrency: bool = True


# Real AWS: nothing relaxed.
AWS_INTENT = DeploymentIntent()


@dataclass(frozen=True, kw_only=True)
class EmulatorProfile:
    """A local emulator (moto server) at ``endpoint_url``."""

    endpoint_url: str

    def intent(self) -> DeploymentIntent:
        return DeploymentIntent(
            endpoint=EndpointOverride(
                url=self.endpoint_url,
                access_key=EMULATOR_ACCESS_KEY,
                secret_key=EMULATOR_SECRET_KEY,
            ),
            deny_insecure_transport=False,
            require_alarm_subscriber=False,
            deny_unencrypted_writes=False,
            require_account_pin=False,
            gradual_rollout=False,
            provisioned_concurrency=False,
        )
