// SPDX-License-Identifier: MIT
#pragma once

#include <atomic>

#include "core/clock.hpp"

namespace basalt::testing {

/// A clock that only moves when told to.
class FakeClock final : public Clock {
public:
    explicit FakeClock(SystemTime start = SystemTime{std::chrono::seconds(1700000000)}) : now_(start) {}
    SystemTime Now() const override { return now_.load(); }
    void Advance(std::chrono::system_clock::duration d) { now_.store(now_.load() + d); }

private:
    std::atomic<SystemTime> now_;
};

}  // namespace basalt::testing
