#include "mpiprep/cli/jobscript.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <fstream>
#include <optional>
#include <ostream>

namespace mpiprep::cli {
namespace {

Error bad(std::string_view option, std::string_view value, std::string_view reason) {
  return Error{ErrorKind::kInconsistent,
               fmt::format("jobscript: {} '{}': {}", option, value, reason)};
}

bool all_of_set(std::string_view value, std::string_view extra) {
  return std::all_of(value.begin(), value.end(), [&](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           extra.find(c) != std::string_view::npos;
  });
}

// Characters allowed in paths and scan option values: no quote, blank, $, `, ;, |, &, <, >,
// (, ), \, newline or other control character, so nothing can leave the single quotes or be
// read by a person as something else.
constexpr std::string_view kPathExtra = "._/+,:@%=-";
constexpr std::string_view kArgExtra = "._/+,:@%=-*?[]{}";

std::vector<std::string> split_lines(std::string_view text) {
  std::vector<std::string> lines;
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    lines.emplace_back(text.substr(pos, end - pos));
    pos = end + 1;
  }
  return lines;
}

std::string hms(long seconds) {
  return fmt::format("{:02}:{:02}:{:02}", seconds / 3600, (seconds / 60) % 60, seconds % 60);
}

// Replaces the one line starting with `prefix` (the whole line) by `replacement`; an anchor that
// is missing or repeated means the template changed under the renderer: fail loudly.
class Lines {
 public:
  explicit Lines(std::string_view text) : lines_(split_lines(text)) {}

  Result<bool> replace(std::string_view prefix, std::string replacement) {
    auto idx = find(prefix);
    if (!idx) return idx.error();
    lines_[*idx] = std::move(replacement);
    return true;
  }
  Result<bool> insert_after(std::string_view prefix, std::string line) {
    auto idx = find(prefix);
    if (!idx) return idx.error();
    lines_.insert(lines_.begin() + static_cast<std::ptrdiff_t>(*idx) + 1, std::move(line));
    return true;
  }
  [[nodiscard]] std::string text() const {
    std::string out;
    for (const auto& l : lines_) out += l + '\n';
    return out;
  }

 private:
  Result<std::size_t> find(std::string_view prefix) const {
    std::size_t count = 0, found = 0;
    for (std::size_t i = 0; i < lines_.size(); ++i) {
      if (lines_[i].rfind(prefix, 0) != 0) continue;
      if (count++ == 0) found = i;
    }
    if (count != 1) {
      return Error{ErrorKind::kInternal,
                   fmt::format("jobscript: the embedded template has {} lines starting with '{}' "
                               "(expected 1): renderer and jobs/ template disagree",
                               count, prefix)};
    }
    return found;
  }

  std::vector<std::string> lines_;
};

#define MPIPREP_TRY(expr)              \
  do {                                 \
    auto r_ = (expr);                  \
    if (!r_) return std::move(r_).error(); \
  } while (false)

}  // namespace

std::string_view template_path(Scheduler s) noexcept {
  return s == Scheduler::kSlurm ? "jobs/slurm/mpiprep.sbatch" : "jobs/uge/mpiprep.qsub";
}

Result<long> parse_count(std::string_view option, std::string_view value, long max) {
  if (value.empty() || value.size() > 9 || !all_of_set(value, "") ||
      value.find_first_not_of("0123456789") != std::string_view::npos) {
    return bad(option, value, "expected a positive whole number");
  }
  long n = 0;
  std::from_chars(value.data(), value.data() + value.size(), n);
  if (n < 1 || n > max) return bad(option, value, fmt::format("expected 1 to {}", max));
  return n;
}

Result<long> parse_walltime(std::string_view option, std::string_view value) {
  // [H]H:MM:SS with 1 to 4 hour digits; minutes and seconds two digits below 60.
  const auto c1 = value.find(':');
  const auto c2 = c1 == std::string_view::npos ? c1 : value.find(':', c1 + 1);
  if (c1 == std::string_view::npos || c2 == std::string_view::npos ||
      value.find(':', c2 + 1) != std::string_view::npos || c1 < 1 || c1 > 4 ||
      c2 - c1 != 3 || value.size() - c2 != 3 ||
      value.find_first_not_of("0123456789:") != std::string_view::npos) {
    return bad(option, value, "expected HH:MM:SS");
  }
  auto num = [&](std::size_t pos, std::size_t len) {
    long n = 0;
    std::from_chars(value.data() + pos, value.data() + pos + len, n);
    return n;
  };
  const long h = num(0, c1), m = num(c1 + 1, 2), s = num(c2 + 1, 2);
  if (m > 59 || s > 59) return bad(option, value, "minutes and seconds must be below 60");
  const long total = h * 3600 + m * 60 + s;
  if (total < 60) return bad(option, value, "at least 00:01:00");
  return total;
}

Result<std::string> check_path(std::string_view option, std::string_view value) {
  if (value.empty()) return bad(option, value, "must not be empty");
  if (value.size() > 4096) return bad(option, value.substr(0, 40), "too long");
  if (value.front() == '-') return bad(option, value, "must not start with '-'");
  if (!all_of_set(value, kPathExtra)) {
    return bad(option, value,
               "only letters, digits and . _ / + , : @ % = - are allowed (no blanks, quotes or "
               "shell characters)");
  }
  return std::string(value);
}

Result<std::string> check_scan_arg(std::string_view value) {
  if (value.empty() || value.size() > 4096 || !all_of_set(value, kArgExtra)) {
    return bad("scan option", value,
               "only letters, digits and . _ / + , : @ % = - * ? [ ] { } are allowed");
  }
  return std::string(value);
}

std::string shell_quote(std::string_view value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

Result<std::string> render_jobscript(const JobScriptOptions& o) {
  const bool slurm = o.scheduler == Scheduler::kSlurm;
  auto ranks = parse_count("--ranks", o.ranks, 1000000);
  if (!ranks) return ranks.error();
  auto secs = parse_walltime("--time", o.time);
  if (!secs) return secs.error();
  // The stop signal comes 2 minutes before the limit, or a quarter of a short limit.
  const long lead = std::min(120L, *secs / 4);

  Lines t(job_template(o.scheduler));
  MPIPREP_TRY(t.insert_after("#!/bin/bash",
                             fmt::format("# Rendered by `mpiprep jobscript` from {}.",
                                         template_path(o.scheduler))));
  if (o.job_name) {
    if (o.job_name->empty() || o.job_name->size() > 64 || !all_of_set(*o.job_name, "._-") ||
        !std::isalpha(static_cast<unsigned char>(o.job_name->front()))) {
      return bad("--job-name", *o.job_name, "letters, digits, . _ - (1-64, starting with a letter)");
    }
  }
  if (o.mem) {
    const auto& m = *o.mem;
    const auto digits = m.find_first_not_of("0123456789");
    const bool ok = !m.empty() && digits != 0 && m.size() <= 12 &&
                    (digits == std::string::npos ||
                     (digits == m.size() - 1 && std::string_view("KMGT").find(m.back()) !=
                                                    std::string_view::npos));
    if (!ok) return bad("--mem", m, "expected a size like 2000M or 4G");
  }
  if (slurm) {
    MPIPREP_TRY(t.replace("#SBATCH --ntasks=", fmt::format("#SBATCH --ntasks={}", *ranks)));
    MPIPREP_TRY(t.replace("#SBATCH --time=", "#SBATCH --time=" + hms(*secs)));
    MPIPREP_TRY(t.replace("#SBATCH --signal=", fmt::format("#SBATCH --signal=B:TERM@{}", lead)));
    if (o.nodes) {
      auto n = parse_count("--nodes", *o.nodes, 100000);
      if (!n) return n.error();
      if (*n > *ranks) return bad("--nodes", *o.nodes, "more nodes than ranks");
      MPIPREP_TRY(t.replace("#SBATCH --nodes=", fmt::format("#SBATCH --nodes={}", *n)));
    }
    if (o.cpus_per_task) {
      auto n = parse_count("--cpus-per-task", *o.cpus_per_task, 4096);
      if (!n) return n.error();
      MPIPREP_TRY(t.replace("#SBATCH --cpus-per-task=",
                            fmt::format("#SBATCH --cpus-per-task={}", *n)));
    }
    if (o.mem) MPIPREP_TRY(t.replace("#SBATCH --mem-per-cpu=", "#SBATCH --mem-per-cpu=" + *o.mem));
    if (o.job_name) MPIPREP_TRY(t.replace("#SBATCH --job-name=", "#SBATCH --job-name=" + *o.job_name));
  } else {
    if (o.nodes) return bad("--nodes", *o.nodes, "Grid Engine places slots itself (PE allocation rule)");
    if (o.cpus_per_task) {
      return bad("--cpus-per-task", *o.cpus_per_task, "not supported for Grid Engine templates");
    }
    MPIPREP_TRY(t.replace("#$ -pe mpi ", fmt::format("#$ -pe mpi {}", *ranks)));
    MPIPREP_TRY(t.replace("#$ -l h_rt=", fmt::format("#$ -l h_rt={},s_rt={}", hms(*secs),
                                                      hms(*secs - lead))));
    if (o.mem) MPIPREP_TRY(t.insert_after("#$ -l h_rt=", "#$ -l h_vmem=" + *o.mem));
    if (o.job_name) MPIPREP_TRY(t.replace("#$ -N ", "#$ -N " + *o.job_name));
  }

  struct Setting {
    const char* name;
    const char* option;
    const std::optional<std::string>* value;
  };
  const Setting settings[] = {{"MPIPREP", "--mpiprep", &o.mpiprep},
                              {"CACHE", "--cache", &o.cache},
                              {"OUT", "--output", &o.output},
                              {"REPORTS", "--reports", &o.reports}};
  for (const auto& s : settings) {
    if (!*s.value) continue;
    auto v = check_path(s.option, **s.value);
    if (!v) return v.error();
    MPIPREP_TRY(t.replace(fmt::format("{}=", s.name),
                          fmt::format("{}={}", s.name, shell_quote(*v))));
  }
  if (o.launcher) {
    if (*o.launcher != "srun" && *o.launcher != "mpirun") {
      return bad("--launcher", *o.launcher, "expected srun or mpirun");
    }
    if (!slurm && *o.launcher != "mpirun") {
      return bad("--launcher", *o.launcher, "Grid Engine jobs start ranks with mpirun");
    }
    MPIPREP_TRY(t.replace("LAUNCH=", "LAUNCH=" + shell_quote(*o.launcher)));
  }
  if (!o.scan_args.empty()) {
    std::string line = "SCAN_ARGS=(";
    for (std::size_t i = 0; i < o.scan_args.size(); ++i) {
      auto v = check_scan_arg(o.scan_args[i]);
      if (!v) return v.error();
      line += (i ? " " : "") + shell_quote(*v);
    }
    MPIPREP_TRY(t.replace("SCAN_ARGS=", line + ")"));
  }
  if (!o.inputs.empty()) {
    std::string line = "INPUTS=(";
    for (std::size_t i = 0; i < o.inputs.size(); ++i) {
      // An input may be @list.txt: allow a leading @ but no leading -.
      auto v = check_path("input", o.inputs[i]);
      if (!v) return v.error();
      line += (i ? " " : "") + shell_quote(*v);
    }
    MPIPREP_TRY(t.replace("INPUTS=", line + ")"));
  }
  return t.text();
}

int run_jobscript(const JobScriptOptions& opts, const std::string& output_file, std::ostream& out,
                  std::ostream& err) {
  auto text = render_jobscript(opts);
  if (!text) {
    err << "mpiprep: " << text.error().message << '\n';
    return 2;
  }
  if (output_file.empty() || output_file == "-") {
    out << *text;
    return out ? 0 : 2;
  }
  std::ofstream f(output_file, std::ios::binary | std::ios::trunc);
  f << *text;
  f.close();
  if (!f) {
    err << "mpiprep: jobscript: cannot write " << output_file << '\n';
    return 2;
  }
  return 0;
}

}  // namespace mpiprep::cli
