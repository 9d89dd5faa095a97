// SPDX-License-Identifier: MIT
#include <utility>

#include "storage/storage.hpp"

namespace basalt::storage {

namespace {

// An upload and a reader hold the store that made them: switching stores never pulls one from
// under a transfer in flight. `store_` is declared first so the inner object goes before it.
class HeldUpload final : public Upload {
public:
    HeldUpload(std::shared_ptr<Storage> store, std::unique_ptr<Upload> inner)
        : store_(std::move(store)),
          inner_(std::move(inner)) {}
    Result<void> Write(std::string_view bytes) override { return inner_->Write(bytes); }
    std::uint64_t Size() const override { return inner_->Size(); }
    Result<void> Commit() override { return inner_->Commit(); }

private:
    std::shared_ptr<Storage> store_;
    std::unique_ptr<Upload> inner_;
};

class HeldReader final : public Reader {
public:
    HeldReader(std::shared_ptr<Storage> store, std::unique_ptr<Reader> inner)
        : store_(std::move(store)),
          inner_(std::move(inner)) {}
    const ObjectInfo& Info() const override { return inner_->Info(); }
    Result<std::size_t> ReadAt(std::uint64_t offset, std::span<char> out) override {
        return inner_->ReadAt(offset, out);
    }
    std::optional<Result<std::size_t>> ReadAtIfCached(std::uint64_t offset, std::span<char> out) override {
        return inner_->ReadAtIfCached(offset, out);
    }

private:
    std::shared_ptr<Storage> store_;
    std::unique_ptr<Reader> inner_;
};

}  // namespace

void Switchable::Set(std::shared_ptr<Storage> next) {
    std::shared_ptr<Storage> previous;  // released outside the lock (an S3 store closes connections)
    std::lock_guard lock(mu_);
    previous = std::exchange(current_, std::move(next));
}

std::shared_ptr<Storage> Switchable::Current() const {
    std::lock_guard lock(mu_);
    return current_;
}

Result<std::unique_ptr<Upload>> Switchable::Create(std::string_view key, std::string_view content_type) {
    auto store = Current();
    BASALT_ASSIGN_OR_RETURN(auto upload, store->Create(key, content_type));
    return std::unique_ptr<Upload>(std::make_unique<HeldUpload>(std::move(store), std::move(upload)));
}

Result<std::unique_ptr<Reader>> Switchable::Open(std::string_view key) {
    auto store = Current();
    BASALT_ASSIGN_OR_RETURN(auto reader, store->Open(key));
    return std::unique_ptr<Reader>(std::make_unique<HeldReader>(std::move(store), std::move(reader)));
}

std::unique_ptr<Reader> Switchable::OpenIfCached(std::string_view key) {
    auto store = Current();
    auto reader = store->OpenIfCached(key);
    if (!reader) {
        return nullptr;
    }
    return std::make_unique<HeldReader>(std::move(store), std::move(reader));
}

Result<ObjectInfo> Switchable::Stat(std::string_view key) {
    return Current()->Stat(key);
}

Result<void> Switchable::Delete(std::string_view key) {
    return Current()->Delete(key);
}

Result<void> Switchable::DeletePrefix(std::string_view prefix) {
    return Current()->DeletePrefix(prefix);
}

Result<std::vector<std::string>> Switchable::List(std::string_view prefix) {
    return Current()->List(prefix);
}

Result<std::vector<std::string>> Switchable::ListFolders(std::string_view prefix) {
    return Current()->ListFolders(prefix);
}

Result<std::vector<std::string>> Switchable::ListFiles(std::string_view prefix) {
    return Current()->ListFiles(prefix);
}

}  // namespace basalt::storage
