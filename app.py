#!/usr/bin/env python3
"""The CDK app: synthesizes the replication topology in the context key ``ecrReplication``."""

from ecr_replication.constructs.app import main

if __name__ == "__main__":
    main()
