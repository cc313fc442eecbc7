// A C++ program with namespaces, templates, member functions and inlining under -O2.
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

namespace shop {

template <typename T>
struct Ledger {
    std::vector<T> entries;
    void add(T value) { entries.push_back(value); }
    T sum() const {
        T total{};
        for (const T &e : entries)
            total += e;
        return total;
    }
};

class PricingRule {
public:
    explicit PricingRule(int percent) : percent_(percent) {}
    int apply(int price) const {
        if (percent_ > 100)
            std::abort();
        return price - price * percent_ / 100;
    }
private:
    int percent_;
};

class Checkout {
public:
    __attribute__((noinline)) int confirm(const std::vector<PricingRule> &rules, int price);
    std::map<std::string, int> seen;
};

int Checkout::confirm(const std::vector<PricingRule> &rules, int price)
{
    Ledger<long> ledger;
    for (const PricingRule &rule : rules) {
        price = rule.apply(price);
        ledger.add(price);
    }
    seen[std::to_string(price)] += 1;
    return static_cast<int>(ledger.sum() % 1000003);
}

}  // namespace shop

int main(int argc, char **argv)
{
    std::vector<shop::PricingRule> rules;
    for (int i = 1; i < argc; i++)
        rules.emplace_back(std::atoi(argv[i]));
    shop::Checkout checkout;
    std::printf("%d\n", checkout.confirm(rules, 1000));
    return 0;
}
