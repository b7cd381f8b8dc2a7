"""`python -m server`: serve the app with uvicorn on VAE_HOST:VAE_PORT (README's start command)."""

import uvicorn

from server.settings import Settings


def main() -> None:
    s = Settings()
    uvicorn.run("server.app:app", host=s.host, port=s.port, workers=s.workers, log_level="info")


if __name__ == "__main__":
    main()
