# The advisor in one image: `advisor ui` (default), `advisor serve` and `chroma run` (see compose.yaml).
# Build: docker build -t advisor .     Run: docker run -p 8501:8501 -v advisor-data:/data advisor

# -- build: wheels for the advisor and every dependency (llama-cpp-python compiles from its sdist) ----------
FROM python:3.11-slim AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential cmake \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml README.md ./
COPY advisor ./advisor
COPY knowledge ./knowledge
COPY evals ./evals
# No -march=native: the image must run on any x86-64, not only on CPUs like the one that built it.
ENV CMAKE_ARGS="-DGGML_NATIVE=OFF"
RUN pip wheel --no-cache-dir --wheel-dir /wheels ".[serve]"

# -- run: the wheels only, no compiler -------------------------------------------------------------------
FROM python:3.11-slim
# libgomp1: llama.cpp's OpenMP runtime.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgomp1 \
    && rm -rf /var/lib/apt/lists/*
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-cache-dir --no-index --find-links /wheels "advisor[serve]"
RUN useradd --create-home --uid 10001 advisor \
    && mkdir /data \
    && chown advisor:advisor /data
USER advisor
WORKDIR /home/advisor
# Store, manifest, feedback and eval reports; the knowledge it starts from is the copy inside the package.
ENV ADVISOR_DATA_DIR=/data \
    PYTHONUNBUFFERED=1
VOLUME ["/data"]
EXPOSE 8501 8000
CMD ["advisor", "ui", "--host", "0.0.0.0", "--port", "8501"]
