"""Static files settings shared by the runtime settings and the image build (`collectstatic`).

The Dockerfile runs collectstatic into STATIC_ROOT (/app/staticfiles, the platform's `static.image_root`):
ManifestStaticFilesStorage names every file `name.<hash>.ext` and writes staticfiles.json, which the tasks
read to render `{% static %}` URLs. With `static.cdn` the pipeline copies this very directory out of the
released image to S3 behind CloudFront; without it WhiteNoise serves it from the web tasks.
"""

from __future__ import annotations

from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "assets"]
STATICFILES_STORAGE_BACKEND = "whitenoise.storage.CompressedManifestStaticFilesStorage"
