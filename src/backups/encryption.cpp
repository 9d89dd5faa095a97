// SPDX-License-Identifier: MIT
// An encrypted archive is the zip cut in chunks, each sealed by crypto_secretstream_xchacha20poly1305
// (the stream's state chains them: a chunk moved, dropped or repeated fails, and only the last is
// tagged FINAL, so a file cut at a chunk boundary is told apart from a whole one). Layout:
//
//   0  10  "BASALTENC1"
//   10  1  format version (1)
//   11  1  flags (0)
//   12  4  plaintext bytes per chunk, little-endian
//   16  8  key id (BackupKey::Id)
//   24 24  secretstream header
//   48 ..  chunks: ciphertext of up to chunk bytes + 17; the first 24 bytes of the header are the
//          additional data of every chunk, so a changed version, flags, chunk size or key id fails too.
#include "backups/encryption.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <span>
#include <system_error>
#include <vector>

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "backups/file_ops.hpp"
#include "core/spool_file.hpp"

namespace basalt::backups {

namespace fs = std::filesystem;

namespace {

constexpr std::uint64_t kDecryptDiskReserve = std::uint64_t{64} << 20;  // as ExtractZip keeps free
constexpr std::size_t kMinChunk = 1024;
constexpr std::size_t kMaxChunk = std::size_t{16} << 20;
constexpr std::size_t kAdBytes = 24;  // the header before the secretstream header
constexpr std::size_t kABytes = crypto_secretstream_xchacha20poly1305_ABYTES;
constexpr std::string_view kKeyIdLabel = "basalt backup key id v1";

static_assert(kAdBytes + crypto_secretstream_xchacha20poly1305_HEADERBYTES == kEncryptionHeaderBytes);
static_assert(crypto_secretstream_xchacha20poly1305_KEYBYTES == kBackupKeyBytes);

using Header = std::array<unsigned char, kEncryptionHeaderBytes>;

void InitSodium() {
    static const int rc = sodium_init();
    (void)rc;  // < 0 only when no randomness source exists: randombytes aborts then
}

Error Refusal(std::string message) {
    return MakeError(ErrorCode::kInvalidArgument, std::move(message));
}

std::string Hex(const unsigned char* data, std::size_t n) {
    std::string out(n * 2 + 1, '\0');
    sodium_bin2hex(out.data(), out.size(), data, n);
    out.pop_back();
    return out;
}

std::string_view Trim(std::string_view s) {
    const auto space = [](char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r';
    };
    while (!s.empty() && space(s.front())) {
        s.remove_prefix(1);
    }
    while (!s.empty() && space(s.back())) {
        s.remove_suffix(1);
    }
    return s;
}

// Decodes `text` into exactly `out.size()` bytes; false when it is not that.
bool DecodeKeyText(std::string_view text, std::span<unsigned char> out) {
    std::size_t len = 0;
    const char* end = nullptr;
    if (text.size() == out.size() * 2 &&
        sodium_hex2bin(out.data(), out.size(), text.data(), text.size(), nullptr, &len, &end) == 0 &&
        len == out.size() && end == text.data() + text.size()) {
        return true;
    }
    // 32 bytes are 44 base64 characters with padding, 43 without.
    std::array<unsigned char, kBackupKeyBytes + 3> buf{};
    for (const int variant :
         {sodium_base64_VARIANT_ORIGINAL,
          sodium_base64_VARIANT_ORIGINAL_NO_PADDING,
          sodium_base64_VARIANT_URLSAFE,
          sodium_base64_VARIANT_URLSAFE_NO_PADDING}) {
        if (sodium_base642bin(buf.data(), buf.size(), text.data(), text.size(), nullptr, &len, &end, variant) == 0 &&
            len == out.size() && end == text.data() + text.size()) {
            std::memcpy(out.data(), buf.data(), out.size());
            sodium_memzero(buf.data(), buf.size());
            return true;
        }
    }
    sodium_memzero(buf.data(), buf.size());
    return false;
}

// Closes the descriptor when it goes.
class ArchiveFd {
public:
    explicit ArchiveFd(int fd) : fd_(fd) {}
    ~ArchiveFd() {
        if (fd_ >= 0) {
            ::close(fd_);
        }
    }
    ArchiveFd(const ArchiveFd&) = delete;
    ArchiveFd& operator=(const ArchiveFd&) = delete;
    int Get() const { return fd_; }
    bool Ok() const { return fd_ >= 0; }

private:
    int fd_;
};

Result<void> WriteFully(int fd, const unsigned char* data, std::size_t n) {
    std::size_t done = 0;
    while (done < n) {
        const ssize_t w = ::write(fd, data + done, n - done);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            return ErrnoError("write the archive");
        }
        done += static_cast<std::size_t>(w);
    }
    return Ok();
}

// Reads up to `out.size()` bytes at `offset`; fewer only at the end of the file.
Result<std::size_t> ReadChunkAt(int fd, std::uint64_t offset, std::span<unsigned char> out) {
    const std::int64_t n =
        ReadFullyAt(fd, offset, std::span<char>(reinterpret_cast<char*>(out.data()), out.size()));  // NOLINT
    if (n < 0) {
        errno = static_cast<int>(-n);
        return ErrnoError("read the archive");
    }
    return static_cast<std::size_t>(n);
}

void PutU32(unsigned char* p, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) {
        p[i] = static_cast<unsigned char>(v >> (8 * i));
    }
}

std::uint32_t GetU32(const unsigned char* p) {
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
        v |= static_cast<std::uint32_t>(p[i]) << (8 * i);
    }
    return v;
}

Result<void> Encrypt(const BackupKey& key, int in, int out, std::size_t chunk_bytes) {
    Header header{};
    std::memcpy(header.data(), kEncryptedMagic.data(), kEncryptedMagic.size());
    header[10] = kEncryptionVersion;
    header[11] = 0;
    PutU32(header.data() + 12, static_cast<std::uint32_t>(chunk_bytes));
    std::memcpy(header.data() + 16, key.Id().data(), key.Id().size());
    crypto_secretstream_xchacha20poly1305_state state;
    crypto_secretstream_xchacha20poly1305_init_push(&state, header.data() + kAdBytes, key.Data());
    BASALT_TRY(WriteFully(out, header.data(), header.size()));
    std::vector<unsigned char> plain(chunk_bytes);
    std::vector<unsigned char> sealed(chunk_bytes + kABytes);
    std::uint64_t offset = 0;
    Result<void> done = Ok();
    for (bool last = false; !last && done;) {
        auto n = ReadChunkAt(in, offset, plain);
        if (!n) {
            done = n.error();
            break;
        }
        offset += *n;
        last = *n < chunk_bytes;  // a file of whole chunks ends with an empty FINAL chunk
        unsigned long long sealed_len = 0;
        crypto_secretstream_xchacha20poly1305_push(
            &state,
            sealed.data(),
            &sealed_len,
            plain.data(),
            *n,
            header.data(),
            kAdBytes,
            last ? crypto_secretstream_xchacha20poly1305_TAG_FINAL : crypto_secretstream_xchacha20poly1305_TAG_MESSAGE
        );
        done = WriteFully(out, sealed.data(), static_cast<std::size_t>(sealed_len));
    }
    sodium_memzero(&state, sizeof state);
    sodium_memzero(plain.data(), plain.size());
    return done;
}

// Reads and checks the header: the chunk size it gives, or why the archive is refused.
Result<std::size_t> ReadHeader(
    const BackupKey* key, int in, std::uint64_t in_size, std::uint64_t max_bytes, Header& header
) {
    BASALT_ASSIGN_OR_RETURN(const std::size_t got, ReadChunkAt(in, 0, header));
    if (got < header.size() || std::memcmp(header.data(), kEncryptedMagic.data(), kEncryptedMagic.size()) != 0) {
        return Refusal("not an encrypted backup: its header is incomplete or damaged");
    }
    if (header[10] != kEncryptionVersion) {
        return Refusal(
            "the archive is encrypted in format version " + std::to_string(header[10]) + ", this build knows " +
            std::to_string(kEncryptionVersion)
        );
    }
    const std::size_t chunk_bytes = GetU32(header.data() + 12);
    if (header[11] != 0 || chunk_bytes < kMinChunk || chunk_bytes > kMaxChunk) {
        return Refusal("the encryption header is damaged");
    }
    if (key == nullptr) {
        return Refusal(
            "the archive is encrypted and no backup key is configured (BASALT_BACKUP_KEY or --backup-key-file)"
        );
    }
    if (std::memcmp(header.data() + 16, key->Id().data(), key->Id().size()) != 0) {
        return Refusal(
            "the archive was encrypted with another key (its key id is " + Hex(header.data() + 16, 8) +
            ", the configured key's is " + key->IdHex() + ")"
        );
    }
    // The plaintext is smaller than the ciphertext: this bound holds before a byte is written.
    if (in_size - header.size() > max_bytes) {
        return Refusal(
            "the decrypted archive needs up to " + std::to_string(in_size - header.size()) + " bytes, more than " +
            std::to_string(max_bytes) + " bytes (the free disk space, or the limit)"
        );
    }
    return chunk_bytes;
}

// The chunks after the header, pulled one by one and written to `out` as they authenticate.
Result<std::uint64_t> PullChunks(
    crypto_secretstream_xchacha20poly1305_state& state,
    const Header& header,
    std::size_t chunk_bytes,
    int in,
    int out,
    std::uint64_t in_size
) {
    std::vector<unsigned char> sealed(chunk_bytes + kABytes);
    std::vector<unsigned char> plain(chunk_bytes);
    std::uint64_t offset = header.size();
    std::uint64_t written = 0;
    Result<std::uint64_t> done = std::uint64_t{0};
    for (std::uint64_t chunk = 1;; ++chunk) {
        auto n = ReadChunkAt(in, offset, sealed);
        if (!n) {
            done = n.error();
            break;
        }
        const bool short_read = *n < sealed.size();  // only at the end of the file
        if (*n == 0) {
            done = Refusal(
                "the archive is truncated: it ends after chunk " + std::to_string(chunk - 1) +
                " without its final chunk"
            );
            break;
        }
        offset += *n;
        unsigned long long plain_len = 0;
        unsigned char tag = 0;
        if (crypto_secretstream_xchacha20poly1305_pull(
                &state, plain.data(), &plain_len, &tag, sealed.data(), *n, header.data(), kAdBytes
            ) != 0) {
            done = Refusal(
                short_read ? "the archive is damaged or truncated: its last chunk (" + std::to_string(chunk) +
                                 ") fails authentication"
                           : "the archive was tampered with: chunk " + std::to_string(chunk) + " fails authentication"
            );
            break;
        }
        if (auto w = WriteFully(out, plain.data(), static_cast<std::size_t>(plain_len)); !w) {
            done = w.error();
            break;
        }
        written += plain_len;
        if (tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL || short_read) {
            // A short chunk that authenticates is the last: it must be the FINAL one, at the end.
            done =
                tag != crypto_secretstream_xchacha20poly1305_TAG_FINAL
                    ? Result<std::uint64_t>(Refusal(
                          "the archive is truncated: it ends after chunk " + std::to_string(chunk) +
                          " without its final chunk"
                      ))
                : offset != in_size
                    ? Result<std::uint64_t>(Refusal(
                          "the archive was tampered with: bytes follow its final chunk (" + std::to_string(chunk) + ")"
                      ))
                    : Result<std::uint64_t>(written);
            break;
        }
    }
    sodium_memzero(plain.data(), plain.size());
    return done;
}

Result<std::uint64_t> Decrypt(const BackupKey* key, int in, int out, std::uint64_t in_size, std::uint64_t max_bytes) {
    Header header{};
    BASALT_ASSIGN_OR_RETURN(const std::size_t chunk_bytes, ReadHeader(key, in, in_size, max_bytes, header));
    crypto_secretstream_xchacha20poly1305_state state;
    if (crypto_secretstream_xchacha20poly1305_init_pull(&state, header.data() + kAdBytes, key->Data()) != 0) {
        return Refusal("the encryption header is damaged");
    }
    auto done = PullChunks(state, header, chunk_bytes, in, out, in_size);
    sodium_memzero(&state, sizeof state);
    return done;
}

}  // namespace

Result<std::unique_ptr<BackupKey>> BackupKey::Parse(std::string_view text) {
    InitSodium();
    auto key = std::unique_ptr<BackupKey>(new BackupKey());
    if (!DecodeKeyText(Trim(text), key->bytes_)) {
        return Refusal("the backup key is not 32 bytes written as 64 hex digits or in base64");
    }
    crypto_generichash(
        key->id_.data(),
        key->id_.size(),
        reinterpret_cast<const unsigned char*>(kKeyIdLabel.data()),  // NOLINT: bytes of a string
        kKeyIdLabel.size(),
        key->bytes_.data(),
        key->bytes_.size()
    );
    return key;
}

BackupKey::~BackupKey() {
    sodium_memzero(bytes_.data(), bytes_.size());
}

std::string BackupKey::IdHex() const {
    return Hex(id_.data(), id_.size());
}

Result<std::shared_ptr<const BackupKey>> LoadBackupKey(std::string_view text, const std::string& file) {
    if (!text.empty() && !file.empty()) {
        return Refusal("give the backup key once: BASALT_BACKUP_KEY or --backup-key-file, not both");
    }
    if (text.empty() && file.empty()) {
        return std::shared_ptr<const BackupKey>();
    }
    if (!text.empty()) {
        auto key = BackupKey::Parse(text);
        if (!key) {
            return Refusal("BASALT_BACKUP_KEY: " + key.error().message);
        }
        return std::shared_ptr<const BackupKey>(std::move(*key));
    }
    const ArchiveFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
    struct stat st {};
    if (!fd.Ok() || ::fstat(fd.Get(), &st) != 0) {
        return Refusal(
            "cannot read the backup key file " + file + ": " + std::error_code(errno, std::generic_category()).message()
        );
    }
    if (!S_ISREG(st.st_mode)) {
        return Refusal("the backup key file " + file + " is not a regular file");
    }
    if ((st.st_mode & S_IROTH) != 0) {
        return Refusal("the backup key file " + file + " is readable by every user: chmod o-r it (600 is best)");
    }
    std::array<char, 256> buf{};
    const std::int64_t n = ReadFullyAt(fd.Get(), 0, buf);
    if (n < 0 || static_cast<std::size_t>(n) == buf.size()) {
        sodium_memzero(buf.data(), buf.size());
        return Refusal("the backup key file " + file + " does not hold a backup key");
    }
    auto key = BackupKey::Parse(std::string_view(buf.data(), static_cast<std::size_t>(n)));
    sodium_memzero(buf.data(), buf.size());
    if (!key) {
        return Refusal("the backup key file " + file + ": " + key.error().message);
    }
    return std::shared_ptr<const BackupKey>(std::move(*key));
}

bool HasEncryptedMagic(std::string_view head) {
    return head.starts_with(kEncryptedMagic);
}

bool IsEncryptedArchive(const fs::path& path) {
    const ArchiveFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    std::array<char, kEncryptedMagic.size()> head{};
    if (!fd.Ok() || ReadFullyAt(fd.Get(), 0, head) != static_cast<std::int64_t>(head.size())) {
        return false;
    }
    return HasEncryptedMagic(std::string_view(head.data(), head.size()));
}

Result<void> EncryptArchive(const BackupKey& key, const fs::path& plain, const fs::path& out, std::size_t chunk_bytes) {
    InitSodium();
    if (chunk_bytes < kMinChunk || chunk_bytes > kMaxChunk) {
        return MakeError(ErrorCode::kInvalidArgument, "chunk size out of range");
    }
    const ArchiveFd in(::open(plain.c_str(), O_RDONLY | O_CLOEXEC));
    if (!in.Ok()) {
        return ErrnoError("open " + plain.string());
    }
    Result<void> done = Ok();
    {
        const ArchiveFd to(::open(out.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
        if (!to.Ok()) {
            return ErrnoError("create " + out.string());
        }
        done = Encrypt(key, in.Get(), to.Get(), chunk_bytes);
    }
    if (!done) {
        ::unlink(out.c_str());
    }
    return done;
}

Result<void> EncryptArchiveInPlace(const BackupKey& key, const fs::path& path) {
    const fs::path enc = path.string() + ".enc";
    ::unlink(enc.c_str());  // a leftover of a crash
    BASALT_TRY(EncryptArchive(key, path, enc));
    if (::rename(enc.c_str(), path.c_str()) != 0) {
        auto err = ErrnoError("rename the encrypted archive");
        ::unlink(enc.c_str());
        return err;
    }
    return Ok();
}

Result<std::uint64_t> DecryptArchive(
    const BackupKey* key, const fs::path& in, const fs::path& out, std::uint64_t max_bytes
) {
    InitSodium();
    const ArchiveFd from(::open(in.c_str(), O_RDONLY | O_CLOEXEC));
    struct stat st {};
    if (!from.Ok() || ::fstat(from.Get(), &st) != 0) {
        return ErrnoError("open " + in.string());
    }
    if (max_bytes == 0) {
        struct statvfs vfs {};
        if (::statvfs(out.parent_path().c_str(), &vfs) != 0) {
            return ErrnoError("read the free space of " + out.parent_path().string());
        }
        const std::uint64_t free = static_cast<std::uint64_t>(vfs.f_bavail) * vfs.f_frsize;
        max_bytes = free > kDecryptDiskReserve ? free - kDecryptDiskReserve : 1;
    }
    Result<std::uint64_t> done = std::uint64_t{0};
    {
        const ArchiveFd to(::open(out.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
        if (!to.Ok()) {
            return ErrnoError("create " + out.string());
        }
        done = Decrypt(key, from.Get(), to.Get(), static_cast<std::uint64_t>(st.st_size), max_bytes);
    }
    if (!done) {
        ::unlink(out.c_str());
    }
    return done;
}

}  // namespace basalt::backups
