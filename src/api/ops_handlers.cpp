// SPDX-License-Identifier: MIT
#include "api/ops_handlers.hpp"

#include <algorithm>
#include <functional>
#include <optional>
#include <type_traits>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "api/data_handlers.hpp"
#include "api/json_body.hpp"
#include "core/json.hpp"
#include "core/random.hpp"
#include "core/text.hpp"
#include "mail/mail.hpp"
#include "storage/storage.hpp"

namespace basalt::api {

namespace json = boost::json;
using http::Method;
using http::Request;
using http::Response;

namespace {

constexpr std::size_t kMaxPayload = std::size_t{256} * 1024;

json::object JobJson(const jobs::Job& j) {
    boost::system::error_code ec;
    json::value payload = ParseJson(j.payload, ec);
    return json::object{
        {"id", j.id},
        {"kind", j.kind},
        {"payload", ec ? json::value(nullptr) : std::move(payload)},
        {"idempotencyKey", j.idempotency_key},
        {"status", j.status},
        {"attempts", j.attempts},
        {"maxAttempts", j.max_attempts},
        {"runAt", FormatDateTime(SystemTime(std::chrono::milliseconds(j.run_at_ms)))},
        {"lastError", j.last_error},
        {"created", j.created},
        {"updated", j.updated},
        {"traceparent", j.traceparent}};
}

Paging OpsPaging(const Request& req) {
    return PagingOf(req, 30, 500);
}

class OpsApi {
public:
    explicit OpsApi(const Deps& d) : d_(d) {}

    // --- jobs -----------------------------------------------------------------------------------
    net::awaitable<Response> ListJobs(Request& req) const {
        RequireSuperuser(req);
        const Paging paging = OpsPaging(req);
        const std::int64_t page = paging.page;
        const std::int64_t per_page = paging.per_page;
        const std::string status = req.QueryParam("status").value_or("");
        const std::string kind = req.QueryParam("kind").value_or("");
        auto r = co_await Blocking<jobs::Queue::Page>(req, [&] { return d_.jobs.List(status, kind, page, per_page); });
        json::array items;
        for (const auto& j : r.items) {
            items.push_back(JobJson(j));
        }
        co_return JsonResponse(json::object{
            {"page", page},
            {"perPage", per_page},
            {"totalItems", r.total},
            {"totalPages", (r.total + per_page - 1) / per_page},
            {"items", std::move(items)}});
    }

    net::awaitable<Response> GetJob(Request& req) const {
        RequireSuperuser(req);
        const std::string id(req.Param("id"));
        auto r = co_await Blocking<std::optional<jobs::Job>>(req, [&] { return d_.jobs.Get(id); });
        if (!r.has_value()) {
            throw ApiError::NotFound();
        }
        co_return JsonResponse(JobJson(*r));
    }

    net::awaitable<Response> EnqueueJob(Request& req) const {
        RequireSuperuser(req);
        if (req.body.size() > kMaxPayload) {
            throw ApiError(413, "Request entity too large.");
        }
        const json::object body = DecodeJsonObject(req);
        jobs::NewJob job;
        std::vector<FieldError> errors;
        job.kind = StringField(body, "kind");
        if (job.kind.empty() || !d_.job_kinds || !d_.job_kinds(job.kind)) {
            errors.push_back({"kind", "validation_invalid_value", "Unknown job kind."});
        }
        if (const auto* p = body.if_contains("payload"); p != nullptr && !p->is_null()) {
            job.payload = json::serialize(*p);
        }
        job.idempotency_key = StringField(body, "idempotencyKey");
        if (job.idempotency_key.size() > 255) {
            errors.push_back({"idempotencyKey", "validation_length_too_long", "Must be no more than 255 characters."});
        }
        if (const auto* m = body.if_contains("maxAttempts"); m != nullptr && !m->is_null()) {
            if (!m->is_int64() || m->as_int64() < 1 || m->as_int64() > jobs::kMaxAttemptsLimit) {
                errors.push_back({"maxAttempts", "validation_invalid_value", "Must be between 1 and 100."});
            } else {
                job.max_attempts = m->as_int64();
            }
        }
        if (const auto* delay = body.if_contains("delay"); delay != nullptr && !delay->is_null()) {
            if (!delay->is_int64() || delay->as_int64() < 0 || delay->as_int64() > 365LL * 86400) {
                errors.push_back({"delay", "validation_invalid_value", "Must be seconds between 0 and one year."});
            } else {
                job.delay = std::chrono::seconds(delay->as_int64());
            }
        }
        if (!errors.empty()) {
            throw ApiError::BadRequest("Failed to enqueue the job.", std::move(errors));
        }
        auto r = co_await Blocking<std::optional<jobs::Job>>(req, [&]() -> Result<std::optional<jobs::Job>> {
            BASALT_ASSIGN_OR_RETURN(auto id, d_.jobs.Enqueue(job));
            return d_.jobs.Get(id);
        });
        if (d_.notify_workers) {
            d_.notify_workers();
        }
        co_return JsonResponse(JobJson(r.value()));
    }

    net::awaitable<Response> RetryJob(Request& req) const {
        RequireSuperuser(req);
        const std::string id(req.Param("id"));
        co_await Blocking<void>(req, [&] { return d_.jobs.Retry(id); });
        if (d_.notify_workers) {
            d_.notify_workers();
        }
        co_return Response::NoContent();
    }

    net::awaitable<Response> DiscardJob(Request& req) const {
        RequireSuperuser(req);
        const std::string id(req.Param("id"));
        co_await Blocking<void>(req, [&] { return d_.jobs.Discard(id); });
        co_return Response::NoContent();
    }

    // --- webhooks -------------------------------------------------------------------------------
    net::awaitable<Response> ListWebhooks(Request& req) const {
        RequireSuperuser(req);
        auto r = co_await Blocking<json::array>(req, [&] { return d_.webhooks.List(); });
        const auto n = static_cast<std::int64_t>(r.size());
        co_return JsonResponse(json::object{
            {"page", 1},
            {"perPage", std::max<std::int64_t>(n, 1)},
            {"totalItems", n},
            {"totalPages", 1},
            {"items", std::move(r)}});
    }

    net::awaitable<Response> CreateWebhook(Request& req) const {
        RequireSuperuser(req);
        const json::object body = DecodeJsonObject(req);
        auto r = co_await Blocking<json::object>(req, [&] { return d_.webhooks.Create(body); });
        co_return JsonResponse(r);
    }

    net::awaitable<Response> GetWebhook(Request& req) const {
        RequireSuperuser(req);
        const std::string id(req.Param("id"));
        auto r = co_await Blocking<json::object>(req, [&] { return d_.webhooks.Get(id); });
        co_return JsonResponse(r);
    }

    net::awaitable<Response> UpdateWebhook(Request& req) const {
        RequireSuperuser(req);
        const std::string id(req.Param("id"));
        const json::object body = DecodeJsonObject(req);
        auto r = co_await Blocking<json::object>(req, [&] { return d_.webhooks.Update(id, body); });
        co_return JsonResponse(r);
    }

    net::awaitable<Response> DeleteWebhook(Request& req) const {
        RequireSuperuser(req);
        const std::string id(req.Param("id"));
        co_await Blocking<void>(req, [&] { return d_.webhooks.Delete(id); });
        co_return Response::NoContent();
    }

    net::awaitable<Response> ListDeliveries(Request& req) const {
        RequireSuperuser(req);
        const std::string id(req.Param("id"));
        const Paging paging = OpsPaging(req);
        const std::int64_t page = paging.page;
        const std::int64_t per_page = paging.per_page;
        auto r = co_await Blocking<json::object>(req, [&] { return d_.webhooks.Deliveries(id, page, per_page); });
        co_return JsonResponse(r);
    }

    net::awaitable<Response> Redeliver(Request& req) const {
        RequireSuperuser(req);
        const std::string id(req.Param("id"));
        co_await Blocking<void>(req, [&] { return d_.webhooks.Redeliver(id); });
        if (d_.notify_workers) {
            d_.notify_workers();
        }
        co_return Response::NoContent();
    }

    // --- crons (PocketBase's shapes) --------------------------------------------------------------
    Response ListCrons(Request& req) const {
        RequireSuperuser(req);
        json::array out;
        for (const auto& c : d_.crons.List()) {
            out.push_back(json::object{{"id", c.id}, {"expression", c.expression}});
        }
        return JsonResponse(out);
    }

    net::awaitable<Response> RunCron(Request& req) const {
        RequireSuperuser(req);
        const std::string id(req.Param("id"));
        co_await Blocking<void>(req, [&] { return d_.crons.RunNow(id); });
        if (d_.notify_workers) {
            d_.notify_workers();
        }
        co_return Response::NoContent();
    }

    // POST /api/settings/test/email {email}: sends a test message now with the current SMTP
    // settings and answers with the server's error when it fails (PocketBase's endpoint; the
    // message is a plain test rather than a filled template).
    net::awaitable<Response> TestEmail(Request& req) const {
        RequireSuperuser(req);
        const json::object body = DecodeJsonObject(req);
        const std::string to = StringField(body, "email");
        if (!IsEmail(to)) {
            throw ApiError::BadRequest(
                "An error occurred while validating the submitted data.",
                {{"email", "validation_is_email", "Must be a valid email address."}}
            );
        }
        const settings::MailSettings m = d_.settings.Mail();
        mail::Message message;
        message.from_name = m.sender_name;
        message.from_address = m.sender_address;
        message.to = to;
        message.subject = "Test email from " + (m.app_name.empty() ? std::string("basalt") : m.app_name);
        message.html = "<p>This is a test email from " + HtmlEscape(m.app_name.empty() ? "basalt" : m.app_name) +
                       ". Your SMTP settings work.</p>";
        Result<void> r = Ok();
        co_await d_.io.Run([&] { r = mail::SendWithSettings(m, message); });
        if (!r) {
            throw ApiError::BadRequest("Failed to send the test email: " + Sentenize(r.error().message));
        }
        co_return Response::NoContent();
    }

    // POST /api/settings/test/s3 {filesystem: "storage"|"backups"}: writes a small object to the
    // saved bucket and deletes its folder again (listing and deleting), as PocketBase's test does.
    net::awaitable<Response> TestS3(Request& req) const {
        RequireSuperuser(req);
        const json::object body = DecodeJsonObject(req);
        const std::string filesystem = StringField(body, "filesystem");
        if (filesystem.empty() || (filesystem != "storage" && filesystem != "backups")) {
            throw ApiError::BadRequest(
                "Failed to test the S3 filesystem.",
                {filesystem.empty() ? FieldError{"filesystem", "validation_required", "Cannot be blank."}
                                    : FieldError{"filesystem", "validation_in_invalid", "Must be a valid value."}}
            );
        }
        const settings::S3Settings s3 =
            filesystem == "backups" ? d_.settings.BackupStorage() : d_.settings.FileStorage();
        if (!s3.enabled) {
            throw ApiError::BadRequest(
                "Failed to test the S3 filesystem. Raw error: \nS3 storage filesystem is not enabled"
            );
        }
        std::optional<std::string> failure;
        co_await d_.io.Run([&] { failure = TryS3(s3); });
        if (failure) {
            throw ApiError::BadRequest("Failed to test the S3 filesystem. Raw error: \n" + *failure);
        }
        co_return Response::NoContent();
    }

private:
    // The test itself, blocking (on the io pool): nullopt when the bucket works, else what failed
    // (the storage's messages never contain the secret).
    static std::optional<std::string> TryS3(const settings::S3Settings& s3) {
        storage::S3Config config = s3.Config();
        config.request_timeout = std::chrono::seconds(30);
        auto store = storage::OpenS3(config);
        if (!store) {
            return "failed to initialize the S3 filesystem: " + store.error().message;
        }
        const std::string prefix =
            "pb_settings_test_" +
            SecureRandomString(5, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789");
        auto upload = (*store)->Create(prefix + "/test.txt", "text/plain; charset=utf-8");
        Result<void> written = upload ? (*upload)->Write("test") : Result<void>(upload.error());
        if (written) {
            written = (*upload)->Commit();
        }
        if (!written) {
            return "failed to upload a test file: " + written.error().message;
        }
        if (auto deleted = (*store)->DeletePrefix(prefix); !deleted) {
            return "failed to delete a test file: " + deleted.error().message;
        }
        return std::nullopt;
    }

    // Runs `fn` on the blocking pool (these all read or write the database); a failure becomes the
    // API error.
    template <typename T>
    net::awaitable<T> Blocking(const Request& req, std::function<Result<T>()> fn) const {
        std::optional<Result<T>> r;
        co_await d_.blocking.Run([&] { r.emplace(fn()); });
        if (!*r) {
            ThrowApiError(req, r->error());
        }
        if constexpr (!std::is_void_v<T>) {
            co_return std::move(**r);
        }
    }

    Deps d_;
};

}  // namespace

void RegisterOpsRoutes(http::Router& router, const Deps& deps) {
    auto api = std::make_shared<OpsApi>(deps);
    auto async = [api](net::awaitable<Response> (OpsApi::*fn)(Request&) const) {
        return http::AsyncHandler([api, fn](Request& req) { return ((*api).*fn)(req); });
    };
    auto sync = [api](Response (OpsApi::*fn)(Request&) const) {
        return http::SyncHandler([api, fn](Request& req) { return ((*api).*fn)(req); });
    };
    router.Add(Method::kGet, "/api/jobs", async(&OpsApi::ListJobs));
    router.Add(Method::kPost, "/api/jobs", async(&OpsApi::EnqueueJob));
    router.Add(Method::kGet, "/api/jobs/{id}", async(&OpsApi::GetJob));
    router.Add(Method::kDelete, "/api/jobs/{id}", async(&OpsApi::DiscardJob));
    router.Add(Method::kPost, "/api/jobs/{id}/retry", async(&OpsApi::RetryJob));
    router.Add(Method::kGet, "/api/webhooks", async(&OpsApi::ListWebhooks));
    router.Add(Method::kPost, "/api/webhooks", async(&OpsApi::CreateWebhook));
    router.Add(Method::kGet, "/api/webhooks/{id}", async(&OpsApi::GetWebhook));
    router.Add(Method::kPatch, "/api/webhooks/{id}", async(&OpsApi::UpdateWebhook));
    router.Add(Method::kDelete, "/api/webhooks/{id}", async(&OpsApi::DeleteWebhook));
    router.Add(Method::kGet, "/api/webhooks/{id}/deliveries", async(&OpsApi::ListDeliveries));
    router.Add(Method::kPost, "/api/webhooks/deliveries/{id}/redeliver", async(&OpsApi::Redeliver));
    router.Add(Method::kPost, "/api/settings/test/email", async(&OpsApi::TestEmail));
    router.Add(Method::kPost, "/api/settings/test/s3", async(&OpsApi::TestS3));
    router.Add(Method::kGet, "/api/crons", sync(&OpsApi::ListCrons));
    router.Add(Method::kPost, "/api/crons/{id}", async(&OpsApi::RunCron));
}

}  // namespace basalt::api
