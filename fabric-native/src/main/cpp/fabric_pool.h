// The native thread pool, one per library that includes it (the ops and the training kernels): workers sleep
// on a condition variable between calls; a call is a grid of independent tasks that the caller and the workers
// take from an atomic counter, so which thread runs a task never changes what it computes. One call runs at a
// time (callers are serialised). A system that refuses threads gets a warning and fewer helpers, never an
// abort.
#pragma once

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace {

typedef void (*TaskFn)(void* ctx, int64_t task);

class Pool {
public:
    void run(int64_t n_tasks, int threads, TaskFn fn, void* ctx) {
        if (threads <= 0) threads = (int)std::max(1u, std::thread::hardware_concurrency());
        if (threads <= 1 || n_tasks <= 1) {
            for (int64_t t = 0; t < n_tasks; t++) fn(ctx, t);
            return;
        }
        std::lock_guard<std::mutex> serial(call_mu_);
        int helpers = (int)std::min<int64_t>(threads - 1, n_tasks - 1);
        {
            std::unique_lock<std::mutex> lk(mu_);
            while ((int)workers_.size() < helpers) {
                const int id = (int)workers_.size();
                try {
                    workers_.emplace_back([this, id] { loop(id); });
                } catch (const std::exception& e) {
                    // the system gives no more threads (limits, memory): run on those we have rather than abort;
                    // tasks are the same whatever the thread count, so results do not change
                    if (!warned_) {
                        fprintf(stderr, "fabric: could not start thread %d of %d (%s); continuing with %d\n", id + 2,
                                threads, e.what(), id + 1);
                        warned_ = true;
                    }
                    break;
                }
            }
            helpers = std::min(helpers, (int)workers_.size());
            fn_ = fn;
            ctx_ = ctx;
            n_tasks_ = n_tasks;
            next_.store(0);
            wanted_ = helpers;
            remaining_ = helpers;
            generation_++;
        }
        work_cv_.notify_all();
        drain();
        // the helpers finish within a task's time of us: spin briefly before sleeping (a futex round trip
        // per op is a large share of a generation step, ~400 ops per token)
        for (int i = 0; i < kSpin && remaining_.load(std::memory_order_acquire) != 0; i++) relax(i);
        std::unique_lock<std::mutex> lk(mu_);
        done_cv_.wait(lk, [this] { return remaining_.load() == 0; });
    }

    ~Pool() {
        {
            std::lock_guard<std::mutex> lk(mu_);
            stop_ = true;
            generation_++;
        }
        work_cv_.notify_all();
        for (auto& t : workers_) t.join();
    }

private:
    void drain() {
        for (;;) {
            const int64_t t = next_.fetch_add(1);
            if (t >= n_tasks_) return;
            fn_(ctx_, t);
        }
    }

    void loop(int id) {
        uint64_t seen = 0;
        for (;;) {
            // ops follow each other closely during generation: poll a while before sleeping on the condvar
            for (int i = 0; i < kSpin && generation_.load(std::memory_order_acquire) == seen; i++) relax(i);
            std::unique_lock<std::mutex> lk(mu_);
            work_cv_.wait(lk, [&] { return generation_.load() != seen; });
            seen = generation_;
            if (stop_) return;
            if (id >= wanted_) continue;
            lk.unlock();
            drain();
            lk.lock();
            if (remaining_.fetch_sub(1) == 1) done_cv_.notify_one();
        }
    }

    std::mutex call_mu_, mu_;
    std::condition_variable work_cv_, done_cv_;
    std::vector<std::thread> workers_;
    std::atomic<uint64_t> generation_{0};
    bool stop_ = false;
    bool warned_ = false;
    TaskFn fn_ = nullptr;
    void* ctx_ = nullptr;
    int64_t n_tasks_ = 0;
    std::atomic<int64_t> next_{0};
    int wanted_ = 0;
    std::atomic<int> remaining_{0};
    // polling iterations (~1 ms at the default); FABRIC_POOL_SPIN overrides (0 = sleep at once, for
    // hosts with more runnable threads than cores, where a spinning thread takes time from the one it waits on)
    const int kSpin = [] {
        const char* e = getenv("FABRIC_POOL_SPIN");
        return e ? std::max(0, atoi(e)) : 2000;
    }();
    // A few pauses first (the other thread is usually a few microseconds away), then yields: on a host with
    // more runnable threads than cores the thread we wait for may share our core, and a yield lets it run.
    static void relax(int i) {
        if (i >= 64) {
            std::this_thread::yield();
            return;
        }
#if defined(__x86_64__)
        __builtin_ia32_pause();
#endif
    }
};

Pool& pool() {
    static Pool* p = new Pool();  // never destroyed: workers may outlive static destruction order
    return *p;
}

}  // namespace
