// An -O2 C++ program with class templates, lambdas, virtual calls, std containers and inlining:
// the symbolizer's agreement target alongside libc.
#include <algorithm>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

namespace orders {

struct Line {
  std::string sku;
  int quantity;
  long cents;
};

class Discount {
 public:
  virtual ~Discount() = default;
  virtual long apply(long cents, int quantity) const = 0;
};

class Percent final : public Discount {
 public:
  explicit Percent(int percent) : percent_(percent) {}
  long apply(long cents, int quantity) const override {
    return cents * quantity * (100 - percent_) / 100;
  }

 private:
  int percent_;
};

class BulkOver : public Discount {
 public:
  BulkOver(int threshold, long off) : threshold_(threshold), off_(off) {}
  long apply(long cents, int quantity) const override {
    long total = cents * quantity;
    return quantity > threshold_ ? total - off_ * (quantity - threshold_) : total;
  }

 private:
  int threshold_;
  long off_;
};

template <typename Key, typename Value>
class Ledger {
 public:
  void add(const Key& key, Value value) { totals_[key] += value; }
  template <typename Fn>
  Value fold(Value start, Fn fn) const {
    for (const auto& [key, value] : totals_) start = fn(start, key, value);
    return start;
  }
  std::size_t size() const { return totals_.size(); }

 private:
  std::map<Key, Value> totals_;
};

template <typename T>
static inline T clamp_total(T value, T low, T high) {
  return std::min(std::max(value, low), high);
}

class Basket {
 public:
  void add(std::string sku, int quantity, long cents) {
    lines_.push_back({std::move(sku), quantity, cents});
  }
  void rule(std::unique_ptr<Discount> discount) { rules_.push_back(std::move(discount)); }

  long total(Ledger<std::string, long>& ledger) const {
    auto priced = [this](const Line& line) {
      long best = line.cents * line.quantity;
      for (const auto& rule : rules_) best = std::min(best, rule->apply(line.cents, line.quantity));
      return best;
    };
    long sum = 0;
    for (const auto& line : lines_) {
      long value = priced(line);
      ledger.add(line.sku, value);
      sum += value;
    }
    return clamp_total(sum, 0L, 1L << 40);
  }

 private:
  std::vector<Line> lines_;
  std::vector<std::unique_ptr<Discount>> rules_;
};

}  // namespace orders

int main(int argc, char** argv) {
  orders::Basket basket;
  basket.rule(std::make_unique<orders::Percent>(argc * 5));
  basket.rule(std::make_unique<orders::BulkOver>(3, 40));
  std::vector<int> counts(static_cast<std::size_t>(argc) + 4);
  std::iota(counts.begin(), counts.end(), 1);
  for (int count : counts) basket.add("sku-" + std::to_string(count % 3), count, 250 + count);
  orders::Ledger<std::string, long> ledger;
  long total = basket.total(ledger);
  std::function<long(long, const std::string&, long)> biggest =
      [](long best, const std::string&, long value) { return std::max(best, value); };
  long top = ledger.fold(0L, biggest);
  std::printf("%s: %ld (%zu skus, top %ld)\n", argv[0], total, ledger.size(), top);
  return total > 0 ? 0 : 1;
}
