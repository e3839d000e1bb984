// SVG rendering of the timeline and the extraction-time histogram: hand-written SVG 1.1, one
// element per bar, so the figures stay checkable (a test parses them and matches the bars to
// report.json) and need no library.
#include "mpiprep/report/svg.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <vector>

#include <fmt/format.h>

namespace mpiprep::report {
namespace {

constexpr std::string_view kFailColour = "#d62728";
constexpr std::string_view kFont = "font-family=\"sans-serif\" font-size=\"12\"";

// 1, 2 or 5 times a power of ten, so that about `target` steps cover `range`.
double nice_step(double range, int target) {
  if (!(range > 0.0)) return 1.0;
  const double raw = range / target;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * mag >= raw) return m * mag;
  return 10.0 * mag;
}

// Axis label for seconds: "0", "0.5", "12", "1,200" without trailing zeros.
std::string seconds_label(double v) {
  std::string s = fmt::format("{:.6f}", v);
  while (!s.empty() && s.back() == '0') s.pop_back();
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s.empty() ? "0" : s;
}

// A duration on a decade tick: "1 µs", "10 ms", "1 s", "100 s".
std::string decade_label(int exponent) {
  static constexpr std::array<std::string_view, 4> kUnits = {"s", "ms", "\xC2\xB5s", "ns"};
  int unit = 0;
  int e = exponent;
  while (e < 0 && unit < 3) {
    e += 3;
    ++unit;
  }
  return fmt::format("{:g} {}", std::pow(10.0, e), kUnits[static_cast<std::size_t>(unit)]);
}

std::string duration_text(double s) {
  if (s >= 1.0) return fmt::format("{:.3f} s", s);
  if (s >= 1e-3) return fmt::format("{:.3f} ms", s * 1e3);
  return fmt::format("{:.1f} \xC2\xB5s", s * 1e6);
}

std::string header(int width, int height, std::string_view title) {
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out += fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"{0}\" height=\"{1}\" "
      "viewBox=\"0 0 {0} {1}\">\n",
      width, height);
  out += fmt::format("<title>{}</title>\n", xml_escape(title));
  out += fmt::format("<rect x=\"0\" y=\"0\" width=\"{}\" height=\"{}\" fill=\"#ffffff\"/>\n", width,
                     height);
  return out;
}

std::string text(double x, double y, std::string_view s, std::string_view anchor = "start",
                 std::string_view extra = "") {
  return fmt::format("<text x=\"{:.2f}\" y=\"{:.2f}\" {} text-anchor=\"{}\"{}{}>{}</text>\n", x, y,
                     kFont, anchor, extra.empty() ? "" : " ", extra, xml_escape(s));
}

std::vector<FileFormat> formats_in(const RunTimings& t) {
  std::vector<FileFormat> out;
  for (const auto& f : t.files)
    if (std::find(out.begin(), out.end(), f.format) == out.end()) out.push_back(f.format);
  std::sort(out.begin(), out.end(), [](FileFormat a, FileFormat b) {
    auto order = [](FileFormat f) { return f == FileFormat::kUnknown ? 1000 : static_cast<int>(f); };
    return order(a) < order(b);
  });
  return out;
}

// Legend row at (x, y): one swatch per format, then the failure marker when any failed.
std::string legend(double x, double y, const std::vector<FileFormat>& formats, bool failures) {
  std::string out = "<g class=\"legend\">\n";
  for (FileFormat f : formats) {
    out += fmt::format(
        "<rect x=\"{:.2f}\" y=\"{:.2f}\" width=\"12\" height=\"12\" fill=\"{}\"/>\n", x, y - 10,
        format_colour(f));
    out += text(x + 16, y, format_name(f));
    x += 30 + 8.0 * static_cast<double>(format_name(f).size());
  }
  if (failures) {
    out += fmt::format(
        "<rect x=\"{:.2f}\" y=\"{:.2f}\" width=\"12\" height=\"12\" fill=\"#cccccc\" "
        "stroke=\"{}\" stroke-width=\"2\"/>\n",
        x, y - 10, kFailColour);
    out += text(x + 16, y, "failed");
  }
  out += "</g>\n";
  return out;
}

}  // namespace

std::string xml_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());  // NOLINT
  const std::size_t n = s.size();
  for (std::size_t i = 0; i < n;) {
    const unsigned char c = p[i];
    if (c < 0x80) {
      switch (c) {
        case '&': out += "&amp;"; break;
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '"': out += "&quot;"; break;
        case '\'': out += "&apos;"; break;
        default:
          if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') {
            out += "\xEF\xBF\xBD";
          } else {
            out += static_cast<char>(c);
          }
      }
      ++i;
      continue;
    }
    // A well-formed UTF-8 sequence (no overlongs, no surrogates, at most U+10FFFF) is kept.
    std::size_t len = 0;
    std::uint32_t cp = 0;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
      cp = c & 0x1Fu;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      cp = c & 0x0Fu;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      cp = c & 0x07u;
    }
    bool ok = len > 0 && i + len <= n;
    for (std::size_t k = 1; ok && k < len; ++k) {
      if ((p[i + k] & 0xC0u) != 0x80u) ok = false;
      cp = (cp << 6) | (p[i + k] & 0x3Fu);
    }
    if (ok && len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ok = false;
    if (ok && len == 3 && (cp == 0xFFFE || cp == 0xFFFF)) ok = false;
    if (ok && len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ok = false;
    if (ok) {
      out.append(s.substr(i, len));
      i += len;
    } else {
      out += "\xEF\xBF\xBD";
      ++i;
    }
  }
  return out;
}

std::string_view format_colour(FileFormat f) noexcept {
  switch (f) {
    case FileFormat::kRoot: return "#1f77b4";
    case FileFormat::kHdf5: return "#ff7f0e";
    case FileFormat::kNetcdf3: return "#2ca02c";
    case FileFormat::kParquet: return "#9467bd";
    case FileFormat::kUnknown: break;
  }
  return "#7f7f7f";
}

std::string render_timeline_svg(const RunInfo& info, const RunTimings& t) {
  std::size_t nranks = std::max<std::size_t>(t.ranks.size(), static_cast<std::size_t>(std::max(1, info.ranks)));
  for (const auto& f : t.files)
    if (f.rank >= 0) nranks = std::max(nranks, static_cast<std::size_t>(f.rank) + 1);
  double t_end = 0.0;
  double t_begin = 0.0;
  std::size_t placed = 0;
  bool failures = false;
  for (const auto& f : t.files) {
    if (f.start < 0.0 || f.end < 0.0 || f.rank < 0) continue;
    t_end = std::max(t_end, f.end);
    t_begin = placed == 0 ? f.start : std::min(t_begin, f.start);
    ++placed;
    failures = failures || f.error != ErrorKind::kNone;
  }
  const double row_h = std::clamp(480.0 / static_cast<double>(nranks), 4.0, 28.0);
  const double left = 80.0, right = 30.0, top = 50.0;
  const double width = 1200.0;
  const double plot_w = width - left - right;
  const double plot_h = row_h * static_cast<double>(nranks);
  const double height = top + plot_h + 90.0;
  // The axis is in seconds since the run start; when extraction began late in the run (after a
  // long survey or cache load) it starts at a round time before the first file instead of 0.
  double axis_begin = 0.0;
  if (placed > 0 && t_begin > 0.1 * t_end) {
    const double st = nice_step(t_end - t_begin, 10);
    axis_begin = std::floor(t_begin / st) * st;
  }
  const double axis_end = t_end > axis_begin ? t_end : axis_begin + 1.0;
  const double scale = plot_w / (axis_end - axis_begin);

  const Makespan m = makespan(t, info.ranks, info.threads_per_rank);
  const std::string title =
      fmt::format("mpiprep timeline: {} files on {} ranks, makespan {:.3f} s (lower bound {:.3f} s)",
                  placed, nranks, m.makespan_s, m.lower_bound_s);
  std::string out = header(static_cast<int>(width), static_cast<int>(std::ceil(height)), title);
  out += text(left, 24, title, "start", "font-weight=\"bold\"");

  // Grid and axis: ticks every nice step, labelled in seconds since the run start.
  const double step = nice_step(axis_end - axis_begin, 10);
  out += "<g class=\"axis\">\n";
  for (auto k = static_cast<std::int64_t>(std::ceil(axis_begin / step - 1e-9));
       static_cast<double>(k) * step <= axis_end * (1 + 1e-9); ++k) {
    const double v = static_cast<double>(k) * step;
    const double x = left + (v - axis_begin) * scale;
    out += fmt::format(
        "<line x1=\"{0:.2f}\" y1=\"{1:.2f}\" x2=\"{0:.2f}\" y2=\"{2:.2f}\" stroke=\"#dddddd\"/>\n", x,
        top, top + plot_h + 4);
    out += text(x, top + plot_h + 18, seconds_label(v), "middle");
  }
  out += fmt::format(
      "<line x1=\"{0:.2f}\" y1=\"{1:.2f}\" x2=\"{2:.2f}\" y2=\"{1:.2f}\" stroke=\"#000000\"/>\n", left,
      top + plot_h, left + plot_w);
  out += text(left + plot_w / 2, top + plot_h + 38, "seconds since the run start", "middle");
  out += "</g>\n";

  // Rows: one group per rank, bars in start order.
  std::vector<std::vector<const FileTiming*>> rows(nranks);
  for (const auto& f : t.files)
    if (f.start >= 0.0 && f.end >= 0.0 && f.rank >= 0) rows[static_cast<std::size_t>(f.rank)].push_back(&f);
  for (std::size_t r = 0; r < nranks; ++r) {
    auto& row = rows[r];
    std::stable_sort(row.begin(), row.end(),
                     [](const FileTiming* a, const FileTiming* b) { return a->start < b->start; });
    const double y = top + row_h * static_cast<double>(r);
    if (r % 2 == 1)
      out += fmt::format(
          "<rect x=\"{:.2f}\" y=\"{:.2f}\" width=\"{:.2f}\" height=\"{:.2f}\" fill=\"#f4f4f4\"/>\n",
          left, y, plot_w, row_h);
    if (row_h >= 9.0 || r % static_cast<std::size_t>(std::ceil(9.0 / row_h)) == 0)
      out += text(left - 6, y + row_h / 2 + 4, fmt::format("rank {}", r), "end");
    out += fmt::format("<g class=\"rank\" id=\"rank-{}\">\n", r);
    const double bar_h = std::max(1.0, row_h - 2.0);
    for (const FileTiming* f : row) {
      const bool failed = f->error != ErrorKind::kNone;
      const double x = left + (f->start - axis_begin) * scale;
      const double w = std::max(0.5, (f->end - f->start) * scale);
      const std::string tip = fmt::format(
          "{}\n{}, rank {}, {:.6f}-{:.6f} s ({}), {}, {} bytes read", f->path, format_name(f->format),
          f->rank, f->start, f->end, duration_text(f->seconds),
          failed ? std::string(error_kind_name(f->error)) : std::string("ok"), f->bytes);
      out += fmt::format(
          "<rect class=\"bar{}\" x=\"{:.3f}\" y=\"{:.2f}\" width=\"{:.3f}\" height=\"{:.2f}\" "
          "fill=\"{}\"{}><title>{}</title></rect>\n",
          failed ? " failed" : "", x, y + 1, w, bar_h, format_colour(f->format),
          failed ? fmt::format(" stroke=\"{}\" stroke-width=\"1.5\"", kFailColour) : "",
          xml_escape(tip));
      if (failed) {
        // A red triangle above the bar's start, visible even when the bar is a sliver.
        out += fmt::format(
            "<path class=\"fail-mark\" d=\"M {0:.2f} {1:.2f} l 4 -5 l -8 0 z\" fill=\"{2}\"/>\n",
            x, y + 1, kFailColour);
      }
    }
    out += "</g>\n";
  }
  out += fmt::format(
      "<rect x=\"{:.2f}\" y=\"{:.2f}\" width=\"{:.2f}\" height=\"{:.2f}\" fill=\"none\" "
      "stroke=\"#888888\"/>\n",
      left, top, plot_w, plot_h);
  if (placed == 0) out += text(left + plot_w / 2, top + plot_h / 2, "no files extracted", "middle");
  out += legend(left, top + plot_h + 70, formats_in(t), failures);
  out += "</svg>\n";
  return out;
}

std::string render_histogram_svg(const RunInfo& info, const RunTimings& t) {
  (void)info;
  constexpr int kPerDecade = 5;
  constexpr double kFloor = 1e-6;  // a file faster than 1 µs is shown at 1 µs
  const auto formats = formats_in(t);
  int lo = 0, hi = 1;
  if (!t.files.empty()) {
    double mn = 1e300, mx = 0.0;
    for (const auto& f : t.files) {
      const double s = std::max(kFloor, f.seconds);
      mn = std::min(mn, s);
      mx = std::max(mx, s);
    }
    lo = static_cast<int>(std::floor(std::log10(mn) * kPerDecade + 1e-9));
    hi = static_cast<int>(std::floor(std::log10(mx) * kPerDecade + 1e-9)) + 1;
    // Whole decades at both ends, so the decade ticks frame the data.
    lo = static_cast<int>(std::floor(static_cast<double>(lo) / kPerDecade)) * kPerDecade;
    hi = static_cast<int>(std::ceil(static_cast<double>(hi) / kPerDecade)) * kPerDecade;
  }
  const std::size_t nbins = static_cast<std::size_t>(hi - lo);
  // counts[bin][format index]
  std::vector<std::vector<std::int64_t>> counts(nbins, std::vector<std::int64_t>(formats.size(), 0));
  for (const auto& f : t.files) {
    const double s = std::max(kFloor, f.seconds);
    int b = static_cast<int>(std::floor(std::log10(s) * kPerDecade + 1e-9)) - lo;
    b = std::clamp(b, 0, static_cast<int>(nbins) - 1);
    const auto fi = static_cast<std::size_t>(
        std::find(formats.begin(), formats.end(), f.format) - formats.begin());
    ++counts[static_cast<std::size_t>(b)][fi];
  }
  std::int64_t ymax = 0;
  for (const auto& c : counts) {
    std::int64_t sum = 0;
    for (auto v : c) sum += v;
    ymax = std::max(ymax, sum);
  }

  const double width = 900.0, height = 480.0;
  const double left = 70.0, right = 30.0, top = 50.0, bottom = 100.0;
  const double plot_w = width - left - right, plot_h = height - top - bottom;
  // File counts: whole-number ticks.
  const double ystep =
      std::max(1.0, nice_step(static_cast<double>(std::max<std::int64_t>(ymax, 1)), 6));
  const double ytop = std::max(ystep, std::ceil(static_cast<double>(ymax) / ystep) * ystep);
  const double bin_w = plot_w / static_cast<double>(nbins);

  const std::string title = fmt::format(
      "mpiprep per-file extraction time: {} files, {} bins per decade", t.files.size(), kPerDecade);
  std::string out = header(static_cast<int>(width), static_cast<int>(height), title);
  out += text(left, 24, title, "start", "font-weight=\"bold\"");
  out += "<g class=\"axis\">\n";
  for (double v = 0.0; v <= ytop * (1 + 1e-9); v += ystep) {
    const double y = top + plot_h - v / ytop * plot_h;
    out += fmt::format(
        "<line x1=\"{0:.2f}\" y1=\"{1:.2f}\" x2=\"{2:.2f}\" y2=\"{1:.2f}\" stroke=\"#dddddd\"/>\n",
        left - 4, y, left + plot_w);
    out += text(left - 8, y + 4, seconds_label(v), "end");
  }
  for (int b = 0; b <= static_cast<int>(nbins); b += kPerDecade) {
    const double x = left + bin_w * b;
    out += fmt::format(
        "<line x1=\"{0:.2f}\" y1=\"{1:.2f}\" x2=\"{0:.2f}\" y2=\"{2:.2f}\" stroke=\"#000000\"/>\n", x,
        top + plot_h, top + plot_h + 5);
    out += text(x, top + plot_h + 20, decade_label((lo + b) / kPerDecade), "middle");
  }
  out += fmt::format(
      "<line x1=\"{0:.2f}\" y1=\"{1:.2f}\" x2=\"{2:.2f}\" y2=\"{1:.2f}\" stroke=\"#000000\"/>\n", left,
      top + plot_h, left + plot_w);
  out += text(left + plot_w / 2, top + plot_h + 42, "extraction time per file (log scale)", "middle");
  out += text(16, top + plot_h / 2, "files", "middle",
              fmt::format("transform=\"rotate(-90 16 {:.2f})\"", top + plot_h / 2));
  out += "</g>\n<g class=\"bars\">\n";
  for (std::size_t b = 0; b < nbins; ++b) {
    const double from = std::pow(10.0, static_cast<double>(lo + static_cast<int>(b)) / kPerDecade);
    const double to = std::pow(10.0, static_cast<double>(lo + static_cast<int>(b) + 1) / kPerDecade);
    double base = 0.0;
    for (std::size_t fi = 0; fi < formats.size(); ++fi) {
      const std::int64_t n = counts[b][fi];
      if (n == 0) continue;
      const double h = static_cast<double>(n) / ytop * plot_h;
      const double y = top + plot_h - base - h;
      out += fmt::format(
          "<rect class=\"hbar\" x=\"{:.2f}\" y=\"{:.2f}\" width=\"{:.2f}\" height=\"{:.2f}\" "
          "fill=\"{}\" stroke=\"#ffffff\" stroke-width=\"0.5\"><title>{} {} files in [{}, {})"
          "</title></rect>\n",
          left + bin_w * static_cast<double>(b), y, bin_w, h, format_colour(formats[fi]), n,
          format_name(formats[fi]), duration_text(from), duration_text(to));
      base += h;
    }
  }
  out += "</g>\n";
  out += fmt::format(
      "<rect x=\"{:.2f}\" y=\"{:.2f}\" width=\"{:.2f}\" height=\"{:.2f}\" fill=\"none\" "
      "stroke=\"#888888\"/>\n",
      left, top, plot_w, plot_h);
  if (t.files.empty()) out += text(left + plot_w / 2, top + plot_h / 2, "no files extracted", "middle");
  out += legend(left, height - 20, formats, false);
  out += "</svg>\n";
  return out;
}

}  // namespace mpiprep::report
