"""Helpers shared by the benchmarks: machine facts, percentiles, tables, memory probes.

Every benchmark module exposes ``run(workdir: Path) -> str`` returning a Markdown section;
``bench/run.py`` calls them and writes BENCHMARKS.md. ``quick()`` tells a module to use
its smaller smoke-run sizes (set by ``run.py --quick``).
"""

from __future__ import annotations

import gc
import os
import platform
import random
import sqlite3
import statistics
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

QUICK_ENV = "VNTWIN_BENCH_QUICK"


def quick() -> bool:
    """True for a smoke run (``run.py --quick``): modules use small sizes."""
    return os.environ.get(QUICK_ENV) == "1"


# -- the machine ---------------------------------------------------------------------------
def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _ram_gib() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024**2
    except OSError:
        pass
    return float("nan")


def _version(module: str) -> str:
    try:
        mod = __import__(module)
    except ImportError:
        return "not installed"
    return str(getattr(mod, "__version__", "?"))


def machine() -> dict[str, str]:
    """What the numbers were measured on."""
    return {
        "CPU": f"{_cpu_model()} (nproc {len(os.sched_getaffinity(0))}, "
               f"{os.cpu_count()} logical CPUs)",
        "RAM": f"{_ram_gib():.1f} GiB",
        "OS": f"{platform.system()} {platform.release()}",
        "Python": platform.python_version(),
        "SQLite": sqlite3.sqlite_version,
        "DuckDB": _version("duckdb"),
        "SQLAlchemy": _version("sqlalchemy"),
        "NumPy": _version("numpy"),
        "uvicorn": _version("uvicorn"),
        "httpx": _version("httpx"),
        "Load average at start (1/5/15 min)": loadavg(),
    }


def loadavg() -> str:
    """The 1, 5 and 15 minute load averages."""
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


# -- statistics and formatting -----------------------------------------------------------
def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile (0-100), linear interpolation between closest ranks."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def summary_ms(samples_s: Sequence[float]) -> dict[str, float]:
    """n, p50, p95, max and mean of timings given in seconds, in milliseconds."""
    ms = [s * 1000 for s in samples_s]
    return {"n": len(ms), "p50": percentile(ms, 50), "p95": percentile(ms, 95),
            "max": max(ms) if ms else float("nan"),
            "mean": statistics.fmean(ms) if ms else float("nan")}


def time_calls(fn: Callable[[], Any], n: int) -> list[float]:
    """Wall-clock seconds of ``n`` calls of ``fn``."""
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A Markdown table; floats get sensible precision."""
    def cell(v: Any) -> str:
        if isinstance(v, float):
            if v != v:  # nan
                return "–"
            return f"{v:,.1f}" if abs(v) >= 100 else f"{v:.2f}"
        if isinstance(v, int):
            return f"{v:,}"
        return str(v)

    rows = [list(r) for r in rows]
    numeric = [all(isinstance(r[i], (int, float)) for r in rows) if rows else False
               for i in range(len(headers))]
    lines = ["| " + " | ".join(headers) + " |",
             "|" + "|".join("---:" if num else "---" for num in numeric) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def verdict(ok: bool) -> str:
    """Goal met or missed, for the tables."""
    return "met" if ok else "**missed**"


# -- memory --------------------------------------------------------------------------------
def proc_status_kib(pid: int | str, key: str) -> int:
    """A ``/proc/PID/status`` field in KiB (VmRSS, VmHWM, ...); 0 if unavailable."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def rss_mib(pid: int | str = "self") -> float:
    """Current resident set size in MiB."""
    return proc_status_kib(pid, "VmRSS") / 1024


def hwm_mib(pid: int | str = "self") -> float:
    """Peak resident set size since the process started (VmHWM), in MiB."""
    return proc_status_kib(pid, "VmHWM") / 1024


class RssPoller:
    """Polls a process's VmRSS in a thread (every 50 ms by default); ``peak`` in MiB.

    VmHWM is a lifetime peak and cannot be reset without privileges on every kernel, so
    a poller gives the peak of one phase; both are reported.
    """

    def __init__(self, pid: int, interval_s: float = 0.05) -> None:
        self.pid = pid
        self.interval_s = interval_s
        self.peak = 0.0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_mib(self.pid))
            self.samples += 1
            self._stop.wait(self.interval_s)

    def __enter__(self) -> RssPoller:
        self.peak = rss_mib(self.pid)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_mib(self.pid))


class GcWatch:
    """Counts the interpreter's full (generation 2) garbage collections and their time.

    A process holding a large in-memory index pays for every full collection walking it,
    so latency outliers are worth attributing.
    """

    def __init__(self) -> None:
        self.full: list[float] = []
        self._t0 = 0.0

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if info.get("generation") != 2:
            return
        if phase == "start":
            self._t0 = time.perf_counter()
        else:
            self.full.append(time.perf_counter() - self._t0)

    def __enter__(self) -> GcWatch:
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self._callback)

    def describe(self) -> str:
        """E.g. "2 full GCs (190, 210 ms)"."""
        if not self.full:
            return "no full GC"
        return (f"{len(self.full)} full GC{'s' if len(self.full) > 1 else ''} "
                f"({', '.join(f'{t * 1000:.0f}' for t in self.full)} ms)")


# -- synthetic Vietnamese text ---------------------------------------------------------------
# Common words of Vietnamese public-sector data titles. Combined at random they make
# clearly synthetic titles ("Thống kê dân số nông thôn huyện 2019"), with realistic token
# statistics: diacritics that fold together (số / sở / sổ -> so), short frequent syllables.
PHRASES = [
    "dân số", "dân cư", "hộ gia đình", "lao động", "việc làm", "thu nhập", "nghèo đói",
    "giáo dục", "trường học", "học sinh", "giáo viên", "y tế", "bệnh viện", "trạm y tế",
    "tiêm chủng", "giao thông", "đường bộ", "đường sắt", "cầu đường", "xe buýt", "cảng biển",
    "sân bay", "đất đai", "quy hoạch", "sử dụng đất", "nhà ở", "xây dựng", "đô thị",
    "nông thôn", "nông nghiệp", "lúa gạo", "cây trồng", "chăn nuôi", "thủy sản", "lâm nghiệp",
    "rừng", "môi trường", "chất lượng không khí", "nước sạch", "nước thải", "rác thải",
    "khí hậu", "lượng mưa", "nhiệt độ", "ngập lụt", "hạn hán", "xâm nhập mặn", "bão",
    "thiên tai", "năng lượng", "điện năng", "điện mặt trời", "ngân sách", "tài chính",
    "thuế", "đầu tư", "doanh nghiệp", "xuất khẩu", "nhập khẩu", "giá cả", "chỉ số giá",
    "du lịch", "khách sạn", "văn hóa", "di tích", "thể thao", "an ninh", "trật tự",
    "tai nạn", "hành chính", "dịch vụ công", "hồ sơ", "cấp phép", "đăng ký", "bản đồ",
    "ranh giới", "địa giới", "tọa độ", "viễn thông", "internet", "bưu chính", "báo chí",
    "bảo hiểm xã hội", "trợ cấp", "người cao tuổi", "trẻ em", "phụ nữ", "dân tộc",
    "tôn giáo", "khoa học", "công nghệ", "sáng chế", "thống kê", "điều tra", "tổng hợp",
]
QUALIFIERS = [
    "theo tỉnh", "theo xã", "theo phường", "theo huyện", "cấp tỉnh", "toàn quốc",
    "khu vực", "vùng", "đồng bằng sông Cửu Long", "đồng bằng sông Hồng", "Tây Nguyên",
    "miền Trung", "Đông Nam Bộ", "Tây Bắc", "ven biển", "thành thị", "nông thôn",
    "hàng năm", "hàng quý", "hàng tháng", "sơ bộ", "chính thức", "cập nhật", "lịch sử",
]
ORG_KINDS = ["Sở", "Cục", "Tổng cục", "Bộ", "Viện", "Trung tâm", "Ban quản lý", "Ủy ban"]
FORMATS = ["CSV", "XLSX", "JSON", "GEOJSON", "PDF", "ZIP", "PARQUET", "GPKG", "XML", "TXT"]
FORMAT_WEIGHTS = [30, 15, 10, 10, 12, 8, 5, 4, 3, 3]


def synthetic_title(rng: random.Random) -> str:
    """A clearly synthetic dataset title from the phrase lists."""
    parts = [rng.choice(["Số liệu", "Thống kê", "Danh mục", "Báo cáo", "Dữ liệu", "Bản đồ"])]
    parts += rng.sample(PHRASES, rng.randint(1, 3))
    if rng.random() < 0.7:
        parts.append(rng.choice(QUALIFIERS))
    if rng.random() < 0.6:
        parts.append(f"năm {rng.randint(2005, 2025)}")
    text = " ".join(parts)
    return text[0].upper() + text[1:]


def synthetic_notes(rng: random.Random) -> str:
    """A few synthetic sentences of description."""
    sentences = []
    for _ in range(rng.randint(2, 4)):
        words = " ".join([*rng.sample(PHRASES, 4), rng.choice(QUALIFIERS)])
        sentences.append(words[0].upper() + words[1:] + ".")
    return " ".join(sentences)


def synthetic_tags(n: int, rng: random.Random) -> list[str]:
    """``n`` distinct tags: single phrases, then phrase + qualifier combinations."""
    tags = list(dict.fromkeys(PHRASES))
    seen = set(tags)
    while len(tags) < n:
        tag = f"{rng.choice(PHRASES)} {rng.choice(QUALIFIERS)}"
        if tag not in seen:
            seen.add(tag)
            tags.append(tag)
    return tags[:n]


def synthetic_orgs(n: int, rng: random.Random) -> list[str]:
    """``n`` distinct synthetic agency titles."""
    titles: list[str] = []
    seen: set[str] = set()
    while len(titles) < n:
        title = f"{rng.choice(ORG_KINDS)} {rng.choice(PHRASES)} {rng.choice(QUALIFIERS)}"
        if title not in seen:
            seen.add(title)
            titles.append(title[0].upper() + title[1:])
    return titles
