# callguard as a container. docker-compose.yml runs it next to PostgreSQL 16.
FROM python:3.12-slim
WORKDIR /srv/callguard
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY migrations ./migrations
COPY data ./data
# editable: migrations/ and data/ are read from the source tree
RUN pip install --no-cache-dir -e .
RUN useradd --system --no-create-home callguard
USER callguard
EXPOSE 8000
CMD ["callguard", "serve", "--host", "0.0.0.0", "--port", "8000"]
