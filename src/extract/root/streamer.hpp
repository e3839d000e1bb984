// Internal: decoders for the streamed objects the reader needs (TTree with its branches and
// leaves, the ROOT::RNTuple anchor and envelopes), hand-coded per class version as uproot's
// models/ do. Inputs are uncompressed record payloads; outputs go into the rich model.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "mpiprep/core/result.hpp"
#include "mpiprep/extract/root/model.hpp"

namespace mpiprep::extract::root {

struct StreamerInfos;

struct TreeParseOptions {
  // The file's StreamerInfo, for class versions without a hand-written layout.
  const StreamerInfos* infos = nullptr;
  // Use the StreamerInfo for every version it describes (tests compare both paths).
  bool force_streamer_info = false;
  // Decode TBranches and TBranchElements with the fast path (off: only the general code;
  // tests compare).
  bool fast_paths = true;
  // When set, incremented for every branch the fast path decoded (tests check it is taken).
  std::size_t* fast_branches = nullptr;
};

// Decodes a TTree, TNtuple or TNtupleD payload (the bytes after the key header; `keylen` is
// needed because streamed references count from the key's first byte). String views in
// `tree` point into *buffer, which must contain `payload`. Errors: kUnsupportedVersion (a
// class version the reader does not know), kCorrupt (anything inconsistent). When it failed
// for want of a StreamerInfo, *wants_streamer_info is set: retry with opts.infos.
[[nodiscard]] Status parse_tree(std::shared_ptr<const std::byte[]> buffer,
                                std::span<const std::byte> payload, std::uint32_t keylen,
                                std::string_view key_class, std::string_view what, TreeInfo& tree,
                                const TreeParseOptions& opts = {}, bool* wants_streamer_info = nullptr);

// Decodes the ROOT::RNTuple anchor payload (version fields, envelope locations, checksum).
[[nodiscard]] Status parse_rntuple_anchor(std::span<const std::byte> payload, std::string_view what,
                                          RNTupleInfo& nt);

// Decodes the uncompressed header and footer envelopes (checksums verified) into `nt`.
[[nodiscard]] Status parse_rntuple_envelopes(std::span<const std::byte> header,
                                             std::span<const std::byte> footer, RNTupleInfo& nt);

}  // namespace mpiprep::extract::root
