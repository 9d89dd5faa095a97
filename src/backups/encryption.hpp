// SPDX-License-Identifier: MIT
// Encrypted backup archives: the finished zip streamed through libsodium's secretstream
// (XChaCha20-Poly1305) in chunks, behind a small header. The format is in docs/backups.md
// ("Encryption"); libsodium stays inside encryption.cpp.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace basalt::backups {

inline constexpr std::size_t kBackupKeyBytes = 32;
/// The first bytes of every encrypted archive (a zip begins with "PK").
inline constexpr std::string_view kEncryptedMagic = "BASALTENC1";
/// The format version written after the magic.
inline constexpr std::uint8_t kEncryptionVersion = 1;
/// Plaintext bytes per chunk (each chunk adds 17 bytes: its tag and MAC).
inline constexpr std::size_t kEncryptionChunkBytes = std::size_t{64} * 1024;
/// magic, version, flags, chunk size, key id, secretstream header.
inline constexpr std::size_t kEncryptionHeaderBytes = 48;

/// The 32-byte key backups are encrypted with. Its bytes are wiped (sodium_memzero) when it is
/// destroyed; it is neither copied nor moved. Immutable once made: share it as
/// `shared_ptr<const BackupKey>` across threads.
class BackupKey {
public:
    /// Parses the key's text: 64 hex digits, or base64 (standard or URL-safe, padding optional) of
    /// exactly 32 bytes; whitespace around it is ignored. kInvalidArgument otherwise (the message
    /// never holds the text).
    static Result<std::unique_ptr<BackupKey>> Parse(std::string_view text);

    ~BackupKey();
    BackupKey(const BackupKey&) = delete;
    BackupKey& operator=(const BackupKey&) = delete;
    BackupKey(BackupKey&&) = delete;
    BackupKey& operator=(BackupKey&&) = delete;

    const unsigned char* Data() const { return bytes_.data(); }
    /// 8 bytes derived from the key (a keyed BLAKE2b of a fixed label), written in each archive's
    /// header so that an archive made with another key is told apart from a damaged one.
    const std::array<unsigned char, 8>& Id() const { return id_; }
    /// Id() as 16 hex digits (safe to print: the key cannot be found from it).
    std::string IdHex() const;

private:
    BackupKey() = default;
    std::array<unsigned char, kBackupKeyBytes> bytes_{};
    std::array<unsigned char, 8> id_{};
};

/// The key configured for backups: `text` (BASALT_BACKUP_KEY) or the contents of `file`
/// (--backup-key-file); null when both are empty. kInvalidArgument, with the reason, when both are
/// given, the file cannot be read, is not a regular file or others may read it (mode o+r), or the
/// text is not a key. Blocks (reads the file).
Result<std::shared_ptr<const BackupKey>> LoadBackupKey(std::string_view text, const std::string& file);

/// Whether `head` (the first bytes of a file) begins with kEncryptedMagic.
bool HasEncryptedMagic(std::string_view head);
/// Whether the file at `path` begins with kEncryptedMagic (false when it cannot be read).
bool IsEncryptedArchive(const std::filesystem::path& path);

/// Encrypts the file `plain` into the new file `out` (O_EXCL: it must not exist) with `key`, in
/// chunks of `chunk_bytes` (1 KiB to 16 MiB), the last tagged FINAL. kInternal on I/O errors; `out`
/// is removed then. Blocks.
Result<void> EncryptArchive(
    const BackupKey& key,
    const std::filesystem::path& plain,
    const std::filesystem::path& out,
    std::size_t chunk_bytes = kEncryptionChunkBytes
);

/// Replaces the file at `path` by its encryption: written to `<path>.enc`, then renamed over it
/// (the caller fsyncs the result). Blocks.
Result<void> EncryptArchiveInPlace(const BackupKey& key, const std::filesystem::path& path);

/// Decrypts the encrypted archive `in` into the new file `out` (O_EXCL|O_NOFOLLOW) and returns the
/// bytes written. `max_bytes` bounds the output; 0: the free space of `out`'s disk less 64 MiB (as
/// ExtractZip). Refused with kInvalidArgument and the reason: no key (`key` null); an archive made
/// with another key (the two key ids); an unknown format version; a damaged header; the output
/// beyond the bound; a chunk that fails authentication (tampered, or truncated when it is the
/// last); no FINAL chunk (truncated); bytes after the FINAL chunk. kInternal on I/O errors. `out` is
/// removed after any failure. Blocks.
Result<std::uint64_t> DecryptArchive(
    const BackupKey* key, const std::filesystem::path& in, const std::filesystem::path& out, std::uint64_t max_bytes = 0
);

}  // namespace basalt::backups
