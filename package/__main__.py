"""The trainops component package's provider: hosts the facades of `components.package` and
lets the Pulumi SDK infer their schema (committed as `schema.json`, `trainops package --update`).
Pulumi runs this file when a program that added the package (`pulumi package add`) uses one of
its components."""

from components.package import host

if __name__ == "__main__":
    host.serve()
