"""The operations side: read-only AWS checks and backfill, with boto3 only (never aws_cdk)."""
