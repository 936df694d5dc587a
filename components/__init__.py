"""ComponentResources of the Django-on-Fargate platform, plus settings and naming."""
