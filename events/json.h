#pragma once
// cpts::Json: nlohmann::json with its objects kept in one sorted vector instead of a std::map.
//
// Why: the projector builds, edits, encodes and frees JSON values for every event (the event's
// data, the read-model rows). A std::map allocates one node per member and walks pointers; the
// profile of a rebuild was dominated by those allocations, frees and cache misses. Our objects are
// small (a few to a few dozen members) and mostly built in key order (canonical JSON, MessagePack
// rows), where a sorted vector appends, finds by binary search and frees in one go.
//
// Same order as std::map<std::string, Json, std::less<>>: unique keys in byte order, so
// iteration order, dump(), the canonical JSON of events and the MessagePack of rows are
// byte-for-byte what they were (events/json_test.cc compares with nlohmann::json).
// Two differences from std::map:
// - Inserting or erasing a member invalidates references, pointers and iterators to the
//   object's members (not to what they hold: a nested object or array lives on its own). Do not
//   keep `o["a"]` across another insertion into `o`; build a local value and move it in.
// - Insertion in the middle moves the members after it: fine for the sizes above, quadratic for
//   an object built out of order with many thousands of members (the strict parser, which reads
//   what callers send, appends and sorts once instead).
// Thread-safety: as any standard container.

#include <algorithm>
#include <functional>
#include <initializer_list>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace cpts {

template <class Key, class T, class Compare = std::less<>,
          class IgnoredAllocator = std::allocator<std::pair<const Key, T>>>
class SortedVectorMap : public std::vector<std::pair<Key, T>> {
 public:
  // The vector underneath, for code that builds an object in bulk and keeps the order itself
  // (the strict parser appends, then sorts once).
  using Container = std::vector<std::pair<Key, T>>;
  using key_type = Key;
  using mapped_type = T;
  using key_compare = Compare;
  using value_type = typename Container::value_type;
  using size_type = typename Container::size_type;
  using iterator = typename Container::iterator;
  using const_iterator = typename Container::const_iterator;

  SortedVectorMap() = default;
  template <std::input_iterator InputIt>
  SortedVectorMap(InputIt first, InputIt last) {
    insert(first, last);
  }
  SortedVectorMap(std::initializer_list<value_type> init) { insert(init.begin(), init.end()); }

  template <class K>
  iterator find(const K& key) {
    const auto& k = Comparable(key);
    const iterator it = LowerBound(k);
    return it != this->end() && !less_(k, it->first) ? it : this->end();
  }
  template <class K>
  const_iterator find(const K& key) const {
    const auto& k = Comparable(key);
    const const_iterator it = LowerBound(k);
    return it != this->end() && !less_(k, it->first) ? it : this->end();
  }
  template <class K>
  size_type count(const K& key) const {
    return find(key) != this->end() ? 1 : 0;
  }
  template <class K>
  bool contains(const K& key) const {
    return find(key) != this->end();
  }

  // Like std::map::emplace(key, value): inserts unless the key is there already.
  template <class K, class... Args>
  std::pair<iterator, bool> emplace(K&& key, Args&&... args) {
    // Members usually arrive in key order: append without searching.
    const auto& k = Comparable(key);
    if (this->empty() || less_(this->back().first, k)) {
      Container::emplace_back(std::piecewise_construct, std::forward_as_tuple(std::forward<K>(key)),
                              std::forward_as_tuple(std::forward<Args>(args)...));
      return {std::prev(this->end()), true};
    }
    const iterator it = LowerBound(k);
    if (!less_(k, it->first)) return {it, false};
    return {Container::emplace(it, std::piecewise_construct,
                               std::forward_as_tuple(std::forward<K>(key)),
                               std::forward_as_tuple(std::forward<Args>(args)...)),
            true};
  }
  std::pair<iterator, bool> insert(const value_type& value) {
    return emplace(value.first, value.second);
  }
  std::pair<iterator, bool> insert(value_type&& value) {
    return emplace(std::move(value.first), std::move(value.second));
  }
  template <class InputIt>
  void insert(InputIt first, InputIt last) {
    for (; first != last; ++first) emplace(first->first, first->second);
  }

  template <class K>
  T& operator[](K&& key) {
    return emplace(std::forward<K>(key)).first->second;
  }
  template <class K>
  T& at(const K& key) {
    const iterator it = find(key);
    if (it == this->end()) throw std::out_of_range("key not found");
    return it->second;
  }
  template <class K>
  const T& at(const K& key) const {
    const const_iterator it = find(key);
    if (it == this->end()) throw std::out_of_range("key not found");
    return it->second;
  }

  using Container::erase;  // by iterator and by range
  template <class K, class = std::enable_if_t<!std::is_convertible_v<K, const_iterator>>>
  size_type erase(const K& key) {
    const iterator it = find(key);
    if (it == this->end()) return 0;
    Container::erase(it);
    return 1;
  }

 private:
  // Names given as `const char*` are measured once here, not at each comparison.
  template <class K>
  static decltype(auto) Comparable(const K& key) {
    if constexpr (std::is_convertible_v<const K&, std::string_view>) {
      return std::string_view(key);
    } else {
      return (key);
    }
  }
  template <class K>
  iterator LowerBound(const K& key) {
    const auto& k = Comparable(key);
    return std::lower_bound(
        this->begin(), this->end(), k,
        [this](const value_type& member, const auto& wanted) { return less_(member.first, wanted); });
  }
  template <class K>
  const_iterator LowerBound(const K& key) const {
    const auto& k = Comparable(key);
    return std::lower_bound(
        this->begin(), this->end(), k,
        [this](const value_type& member, const auto& wanted) { return less_(member.first, wanted); });
  }
  [[no_unique_address]] Compare less_;
};

using Json = nlohmann::basic_json<SortedVectorMap>;

}  // namespace cpts
