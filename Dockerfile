# One image for every Zugong process; docker-compose.yml picks the command per component.
FROM python:3.11-slim AS base
ENV PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1 UV_LINK_MODE=copy
RUN pip install --no-cache-dir "uv>=0.5"
WORKDIR /app
COPY pyproject.toml uv.lock README.md ./
COPY contracts ./contracts
COPY services ./services
COPY gateway ./gateway
COPY zugong ./zugong
RUN uv sync --frozen --no-dev && useradd --system --home /app zugong && mkdir -p /app/var && chown zugong /app/var
USER zugong
ENV PATH="/app/.venv/bin:$PATH"
ENTRYPOINT ["zugong"]
