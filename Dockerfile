# syntax=docker/dockerfile:1
# Same steps as `make install` / `make run`, minus demo data. Docker cannot run on the
# development machines of this project, so keep this file in step with the Makefile
# by hand (docs/deployment.md).

# ---- build: wheels for everything in the lock file
FROM python:3.11-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY requirements.lock pyproject.toml ./
COPY api ./api
COPY models ./models
COPY scanning ./scanning
COPY routing ./routing
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install -r requirements.lock \
 && /opt/venv/bin/pip install --no-deps .

# ---- console assets: Leaflet and Chart.js from the npm registry (package-lock.json)
FROM node:20-slim AS assets
WORKDIR /assets
COPY api/console/assets/package.json api/console/assets/package-lock.json ./
RUN npm ci --no-audit --no-fund

# ---- runtime: only the libraries the code loads (libzbar; OpenCV is the headless wheel)
FROM python:3.11-slim-bookworm
RUN apt-get update \
 && apt-get install -y --no-install-recommends libzbar0 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --create-home --uid 10001 postal \
 && mkdir -p /var/lib/postal/evidence && chown -R postal /var/lib/postal
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY migrations ./migrations
COPY --from=assets /assets/node_modules ./console-assets
ENV PATH=/opt/venv/bin:$PATH FLASK_APP=api PYTHONUNBUFFERED=1 PORT=8000 \
    POSTAL_CONSOLE_ASSETS_DIR=/app/console-assets
# numba's kernel cache (routing/tsptw.py): the package directory is root-owned, so a
# directory the non-root user can write; shared by all worker processes of the container
ENV NUMBA_CACHE_DIR=/tmp/numba-cache
# evidence photos (scans, proofs): the default, the instance folder, would be
# /opt/venv/var/api-instance for the installed package, root-owned: every photo a 500.
# A volume, so that they outlive the container.
ENV POSTAL_PHOTO_DIR=/var/lib/postal/evidence
VOLUME /var/lib/postal
USER postal
EXPOSE 8000
# (under gunicorn's SCRIPT_NAME, the app's path prefix, /healthz is below it)
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request,os; urllib.request.urlopen(f'http://127.0.0.1:{os.environ[\"PORT\"]}{os.environ.get(\"SCRIPT_NAME\", \"\")}/healthz')"
# waits for the database (DB_WAIT_SECONDS, default 60), runs the migrations, execs gunicorn
CMD ["python", "-m", "api.serve"]
