// SPDX-License-Identifier: MIT
// Encrypted archives: a round trip gives the bytes back, and a wrong or missing key, a changed
// byte, a cut file or a damaged header is refused with its reason, leaving no output.
#include "backups/encryption.hpp"

#include <algorithm>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include "backups/archive.hpp"
#include "backups/backup_store.hpp"
#include "backups/restore.hpp"

namespace basalt::backups {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kHexKey = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
constexpr std::string_view kOtherHexKey = "ff0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
constexpr std::size_t kChunk = 1024;  // small chunks: many of them in a small file

std::string ReadBytes(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void WriteBytes(const fs::path& p, const std::string& bytes) {
    std::ofstream(p, std::ios::binary | std::ios::trunc) << bytes;
}

std::string Pattern(std::size_t n) {
    std::string s(n, '\0');
    for (std::size_t i = 0; i < n; ++i) {
        s[i] = static_cast<char>('a' + (i * 7 + i / 251) % 26);
    }
    return s;
}

std::shared_ptr<const BackupKey> Key(std::string_view text) {
    auto key = BackupKey::Parse(text);
    EXPECT_TRUE(key) << key.error().message;
    return std::shared_ptr<const BackupKey>(std::move(*key));
}

class EncryptionTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() /
               ("basalt-crypt-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "-" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir_);
        fs::create_directories(dir_);
        key_ = Key(kHexKey);
    }
    void TearDown() override { fs::remove_all(dir_); }

    // Encrypts `plain` in chunks of kChunk into dir_/enc and returns the encrypted bytes.
    std::string Encrypted(const std::string& plain) {
        WriteBytes(dir_ / "plain", plain);
        fs::remove(dir_ / "enc");
        auto r = EncryptArchive(*key_, dir_ / "plain", dir_ / "enc", kChunk);
        EXPECT_TRUE(r) << r.error().message;
        return ReadBytes(dir_ / "enc");
    }

    // Decrypts `bytes` with `key`: the plaintext, or the refusal's message prefixed by "refused: ".
    std::string Decrypted(const std::string& bytes, const BackupKey* key) {
        WriteBytes(dir_ / "in", bytes);
        fs::remove(dir_ / "out");
        auto r = DecryptArchive(key, dir_ / "in", dir_ / "out", 1 << 30);
        if (!r) {
            EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument) << r.error().message;
            EXPECT_FALSE(fs::exists(dir_ / "out")) << "no output is left after a refusal";
            return "refused: " + r.error().message;
        }
        const std::string out = ReadBytes(dir_ / "out");
        EXPECT_EQ(*r, out.size());
        return out;
    }

    fs::path dir_;
    std::shared_ptr<const BackupKey> key_;
};

TEST(BackupKey, ParsesHexAndBase64Of32Bytes) {
    const auto hex = Key(kHexKey);
    // The same 32 bytes in base64, standard and URL-safe, with and without padding, around whitespace.
    for (const std::string_view text :
         {"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
          "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",
          "  AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n"}) {
        auto key = BackupKey::Parse(text);
        ASSERT_TRUE(key) << text;
        EXPECT_EQ((*key)->IdHex(), hex->IdHex());
    }
    EXPECT_EQ(hex->IdHex().size(), 16U);
    EXPECT_NE(Key(kOtherHexKey)->IdHex(), hex->IdHex());
}

TEST(BackupKey, RefusesWhatIsNot32Bytes) {
    for (const std::string_view text :
         {"",
          "secret",
          "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e",    // 31 bytes
          "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1g",  // not hex
          "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8AAA==",                  // 34 bytes
          "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8= x"}) {
        auto key = BackupKey::Parse(text);
        ASSERT_FALSE(key) << text;
        EXPECT_EQ(key.error().code, ErrorCode::kInvalidArgument);
        if (!text.empty()) {
            EXPECT_EQ(key.error().message.find(text), std::string::npos) << "the key's text is never repeated";
        }
    }
}

TEST_F(EncryptionTest, LoadBackupKeyFromTheEnvironmentOrAPrivateFile) {
    auto none = LoadBackupKey("", "");
    ASSERT_TRUE(none);
    EXPECT_EQ(*none, nullptr);
    auto text = LoadBackupKey(kHexKey, "");
    ASSERT_TRUE(text && *text);
    EXPECT_EQ((*text)->IdHex(), key_->IdHex());

    const fs::path file = dir_ / "key";
    WriteBytes(file, std::string(kHexKey) + "\n");
    ::chmod(file.c_str(), 0600);
    auto from_file = LoadBackupKey("", file.string());
    ASSERT_TRUE(from_file && *from_file) << from_file.error().message;
    EXPECT_EQ((*from_file)->IdHex(), key_->IdHex());

    auto both = LoadBackupKey(kHexKey, file.string());
    ASSERT_FALSE(both);
    EXPECT_NE(both.error().message.find("not both"), std::string::npos);

    ::chmod(file.c_str(), 0644);
    auto world = LoadBackupKey("", file.string());
    ASSERT_FALSE(world);
    EXPECT_NE(world.error().message.find("readable by every user"), std::string::npos);

    auto missing = LoadBackupKey("", (dir_ / "nope").string());
    ASSERT_FALSE(missing);
    EXPECT_NE(missing.error().message.find("cannot read"), std::string::npos);

    WriteBytes(file, "not a key");
    ::chmod(file.c_str(), 0600);
    auto bad = LoadBackupKey("", file.string());
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().message.find("not 32 bytes"), std::string::npos);
}

TEST_F(EncryptionTest, RoundTripsEmptySmallAndManyChunkFiles) {
    for (const std::size_t n :
         {std::size_t{0}, std::size_t{1}, kChunk - 1, kChunk, kChunk + 1, 7 * kChunk, 9 * kChunk + 123}) {
        const std::string plain = Pattern(n);
        const std::string enc = Encrypted(plain);
        ASSERT_TRUE(HasEncryptedMagic(enc)) << n;
        EXPECT_TRUE(IsEncryptedArchive(dir_ / "enc"));
        // Header, then each chunk + 17 bytes; whole chunks end with an empty final chunk.
        EXPECT_EQ(enc.size(), kEncryptionHeaderBytes + n + 17 * (n / kChunk + 1)) << n;
        if (n >= 16) {
            EXPECT_EQ(enc.find(plain.substr(0, 16)), std::string::npos) << "no plaintext in the archive";
        }
        EXPECT_EQ(Decrypted(enc, key_.get()), plain) << n;
    }
}

TEST_F(EncryptionTest, TheDefaultChunkSizeRoundTripsTooAndEachArchiveDiffers) {
    const std::string plain = Pattern(3 * kEncryptionChunkBytes + 5);
    WriteBytes(dir_ / "plain", plain);
    ASSERT_TRUE(EncryptArchive(*key_, dir_ / "plain", dir_ / "a"));
    ASSERT_TRUE(EncryptArchive(*key_, dir_ / "plain", dir_ / "b"));
    EXPECT_NE(ReadBytes(dir_ / "a"), ReadBytes(dir_ / "b")) << "a fresh stream header each time";
    EXPECT_EQ(Decrypted(ReadBytes(dir_ / "a"), key_.get()), plain);
    EXPECT_FALSE(EncryptArchive(*key_, dir_ / "plain", dir_ / "a")) << "the output is never replaced";
}

TEST_F(EncryptionTest, InPlaceReplacesTheFile) {
    const std::string plain = Pattern(5000);
    WriteBytes(dir_ / "x.zip", plain);
    ASSERT_TRUE(EncryptArchiveInPlace(*key_, dir_ / "x.zip"));
    EXPECT_TRUE(IsEncryptedArchive(dir_ / "x.zip"));
    EXPECT_FALSE(fs::exists(dir_ / "x.zip.enc"));
    EXPECT_EQ(Decrypted(ReadBytes(dir_ / "x.zip"), key_.get()), plain);
}

TEST_F(EncryptionTest, AWrongOrMissingKeyIsToldApartFromDamage) {
    const std::string enc = Encrypted(Pattern(3000));
    const auto other = Key(kOtherHexKey);
    const std::string wrong = Decrypted(enc, other.get());
    EXPECT_NE(
        wrong.find("refused: the archive was encrypted with another key (its key id is " + key_->IdHex()),
        std::string::npos
    ) << wrong;
    EXPECT_NE(wrong.find(other->IdHex()), std::string::npos) << wrong;
    EXPECT_NE(
        Decrypted(enc, nullptr).find("refused: the archive is encrypted and no backup key is configured"),
        std::string::npos
    );
}

TEST_F(EncryptionTest, AFlippedByteInAnyChunkIsTampering) {
    const std::string plain = Pattern(5 * kChunk + 10);
    const std::string enc = Encrypted(plain);
    const std::size_t sealed = kChunk + 17;
    for (std::size_t chunk = 1; chunk <= 5; ++chunk) {
        std::string bad = enc;
        bad[kEncryptionHeaderBytes + (chunk - 1) * sealed + 500] ^= 0x01;
        EXPECT_EQ(
            Decrypted(bad, key_.get()),
            "refused: the archive was tampered with: chunk " + std::to_string(chunk) + " fails authentication"
        );
    }
    std::string last = enc;
    last[last.size() - 3] ^= 0x40;
    EXPECT_EQ(
        Decrypted(last, key_.get()),
        "refused: the archive is damaged or truncated: its last chunk (6) fails authentication"
    );
    // Two chunks swapped: the stream's state chains them.
    std::string swapped = enc;
    std::copy_n(
        enc.begin() + static_cast<std::ptrdiff_t>(kEncryptionHeaderBytes + sealed),
        sealed,
        swapped.begin() + static_cast<std::ptrdiff_t>(kEncryptionHeaderBytes)
    );
    std::copy_n(
        enc.begin() + static_cast<std::ptrdiff_t>(kEncryptionHeaderBytes),
        sealed,
        swapped.begin() + static_cast<std::ptrdiff_t>(kEncryptionHeaderBytes + sealed)
    );
    EXPECT_EQ(Decrypted(swapped, key_.get()), "refused: the archive was tampered with: chunk 1 fails authentication");
}

TEST_F(EncryptionTest, ACutFileIsTruncatedAtABoundaryOrMidChunk) {
    const std::string enc = Encrypted(Pattern(4 * kChunk + 10));
    const std::size_t sealed = kChunk + 17;
    EXPECT_EQ(
        Decrypted(enc.substr(0, kEncryptionHeaderBytes + 3 * sealed), key_.get()),
        "refused: the archive is truncated: it ends after chunk 3 without its final chunk"
    );
    EXPECT_EQ(
        Decrypted(enc.substr(0, kEncryptionHeaderBytes), key_.get()),
        "refused: the archive is truncated: it ends after chunk 0 without its final chunk"
    );
    EXPECT_EQ(
        Decrypted(enc.substr(0, kEncryptionHeaderBytes + 2 * sealed + 100), key_.get()),
        "refused: the archive is damaged or truncated: its last chunk (3) fails authentication"
    );
    EXPECT_EQ(
        Decrypted(enc.substr(0, enc.size() - 1), key_.get()),
        "refused: the archive is damaged or truncated: its last chunk (5) fails authentication"
    );
    // A byte added at the end is read with the short last chunk, which then fails.
    EXPECT_EQ(
        Decrypted(enc + "x", key_.get()),
        "refused: the archive is damaged or truncated: its last chunk (5) fails authentication"
    );
}

TEST_F(EncryptionTest, AGarbledHeaderIsRefused) {
    const std::string enc = Encrypted(Pattern(2000));
    EXPECT_EQ(
        Decrypted(enc.substr(0, 20), key_.get()),
        "refused: not an encrypted backup: its header is incomplete or damaged"
    );
    EXPECT_EQ(
        Decrypted("PK\x03\x04 not encrypted at all, long enough for a header......", key_.get()),
        "refused: not an encrypted backup: its header is incomplete or damaged"
    );
    std::string version = enc;
    version[10] = 2;
    EXPECT_EQ(
        Decrypted(version, key_.get()), "refused: the archive is encrypted in format version 2, this build knows 1"
    );
    std::string flags = enc;
    flags[11] = 1;
    EXPECT_EQ(Decrypted(flags, key_.get()), "refused: the encryption header is damaged");
    std::string chunk = enc;
    chunk[15] = 0x7f;  // a chunk size of ~2 GiB
    EXPECT_EQ(Decrypted(chunk, key_.get()), "refused: the encryption header is damaged");
    std::string resized = enc;
    resized[13] = 0x08;  // 2048 bytes instead of 1024: in range, but the header is authenticated
    EXPECT_NE(Decrypted(resized, key_.get()).find("fails authentication"), std::string::npos);
    std::string id = enc;
    id[17] ^= 0x01;
    EXPECT_NE(Decrypted(id, key_.get()).find("refused: the archive was encrypted with another key"), std::string::npos);
    std::string stream = enc;
    stream[30] ^= 0x01;
    EXPECT_NE(Decrypted(stream, key_.get()).find("fails authentication"), std::string::npos);
}

TEST_F(EncryptionTest, TheOutputIsBoundedBeforeAByteIsWritten) {
    WriteBytes(dir_ / "in", Encrypted(Pattern(10 * kChunk)));
    auto r = DecryptArchive(key_.get(), dir_ / "in", dir_ / "out", 5 * kChunk);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("(the free disk space, or the limit)"), std::string::npos);
    EXPECT_FALSE(fs::exists(dir_ / "out"));
    auto free = DecryptArchive(key_.get(), dir_ / "in", dir_ / "out");  // 0: the disk's free space
    ASSERT_TRUE(free) << free.error().message;
    EXPECT_EQ(*free, 10 * kChunk);
}

TEST_F(EncryptionTest, TheStoreEncryptsWhatItMakesAndRestoreDecryptsIt) {
    const fs::path data = dir_ / "data";
    fs::create_directories(data / "storage" / "c" / "r");
    std::ofstream(data / "storage" / "c" / "r" / "f.txt") << "a stored file";
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((data / "data.db").c_str(), &db), SQLITE_OK);
    ASSERT_EQ(
        sqlite3_exec(db, "CREATE TABLE t(x); INSERT INTO t VALUES ('plain secret');", nullptr, nullptr, nullptr),
        SQLITE_OK
    );
    sqlite3_close(db);

    BackupStore store(data);
    store.SetEncryptionKey(key_);
    {
        auto op = store.Begin("enc.zip");
        ASSERT_TRUE(op);
        ASSERT_TRUE(store.Create(*op));
    }
    const fs::path archive = data / "backups" / "enc.zip";
    const std::string bytes = ReadBytes(archive);
    EXPECT_TRUE(HasEncryptedMagic(bytes));
    EXPECT_EQ(bytes.find("plain secret"), std::string::npos);
    EXPECT_EQ(bytes.find("a stored file"), std::string::npos);
    EXPECT_FALSE(ZipEntryNames(archive));

    ASSERT_TRUE(DecryptArchive(key_.get(), archive, dir_ / "plain.zip").has_value());
    auto names = ZipEntryNames(dir_ / "plain.zip");
    ASSERT_TRUE(names);
    EXPECT_NE(std::find(names->begin(), names->end(), "storage/c/r/f.txt"), names->end());

    // Staged: decrypted and unpacked (this data.db has no _migrations: refused after unpacking),
    // and the decrypted zip beside the staging folder is gone either way.
    RestoreOptions options;
    options.known_version = 1000;
    options.key = key_;
    auto staged = StageRestore(data, archive, options);
    ASSERT_FALSE(staged);
    EXPECT_EQ(staged.error().message, "data.db is not a basalt database");
    options.key = Key(kOtherHexKey);
    staged = StageRestore(data, archive, options);
    ASSERT_FALSE(staged);
    EXPECT_NE(staged.error().message.find("another key"), std::string::npos);
    options.key = nullptr;
    staged = StageRestore(data, archive, options);
    ASSERT_FALSE(staged);
    EXPECT_NE(staged.error().message.find("no backup key is configured"), std::string::npos);
    EXPECT_TRUE(fs::is_empty(data / ".tmp"));

    // Without a key the store makes plain zips, as before.
    store.SetEncryptionKey(nullptr);
    {
        auto op = store.Begin("plain.zip");
        ASSERT_TRUE(op);
        ASSERT_TRUE(store.Create(*op));
    }
    EXPECT_FALSE(IsEncryptedArchive(data / "backups" / "plain.zip"));
    EXPECT_TRUE(ZipEntryNames(data / "backups" / "plain.zip"));
    EXPECT_TRUE(store.Upload("up.zip", ByteSource::InMemory(bytes)));
    EXPECT_FALSE(store.Upload("up2.zip", ByteSource::InMemory("BASALTEN")));
}

}  // namespace
}  // namespace basalt::backups
