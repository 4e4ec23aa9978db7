"""Tests of the review report, the cdk-nag switch and the shared test topologies."""
