"""The CDK side: the only part of the package that imports ``aws_cdk``.

* :mod:`.support` — a stack's environment read once, claims, values produced at synthesis;
* :mod:`.source` — a source registry's replication configuration;
* :mod:`.registry_policy` — a destination registry's registry policy;
* :mod:`.destination_role` — the destination role for the operations commands;
* :mod:`.templates` — repository creation templates;
* :mod:`.backfill` (and its Lambda handler :mod:`.backfill_handler`) — backfill on deploy;
* :mod:`.stacks` — one stack per registry, built from a topology;
* :mod:`.app` — the CDK app of ``app.py``;
* :mod:`.nag` — the cdk-nag switch and acknowledgements.

Importing this package loads nothing of the CDK; each module does, when it is imported.
"""
