// The table of known datasets. Checksums are SHA-256 of the published .gz files.
// Provenance:
// - mnist, fashion-mnist: computed with sha256sum from the copies in /work/shared/data, whose
//   MD5s match the official ones; identical to tensorflow/datasets url_checksums/{mnist,
//   fashion_mnist}.txt.
// - kmnist: tensorflow/datasets url_checksums/kmnist.txt (sizes and SHA-256), the same SHA-256s
//   as ankane/torchvision-ruby datasets/kmnist.rb. Its normalization statistics are left out
//   (published values disagree and could not be checked against the data).
// - EMNIST is not listed: NIST publishes it only inside one 562 MB gzip.zip, so there are no
//   per-file downloads or per-file checksums from a source we could verify.
#include <convkit/data/registry.h>
#include <convkit/util/error.h>

namespace convkit::data {

std::string DatasetFile::raw_name() const {
  return name.ends_with(".gz") ? name.substr(0, name.size() - 3) : name;
}

namespace {

std::vector<DatasetInfo> make_table() {
  std::vector<DatasetInfo> t;
  t.push_back(DatasetInfo{
      .name = "mnist",
      .description = "MNIST handwritten digits (LeCun, Cortes, Burges), 28x28 grayscale",
      .files = {{
          {"train-images-idx3-ubyte.gz", 9912422,
           "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"},
          {"train-labels-idx1-ubyte.gz", 28881,
           "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"},
          {"t10k-images-idx3-ubyte.gz", 1648877,
           "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"},
          {"t10k-labels-idx1-ubyte.gz", 4542,
           "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"},
      }},
      .mirrors = {"https://ossci-datasets.s3.amazonaws.com/mnist/",
                  "https://storage.googleapis.com/cvdf-datasets/mnist/"},
      .train_size = 60000,
      .test_size = 10000,
      .class_names = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"},
      .mean = 0.1307f,
      .std = 0.3081f,
  });
  t.push_back(DatasetInfo{
      .name = "fashion-mnist",
      .description =
          "Fashion-MNIST Zalando article images (Xiao, Rasul, Vollgraf), 28x28 grayscale",
      .files = {{
          {"train-images-idx3-ubyte.gz", 26421880,
           "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84"},
          {"train-labels-idx1-ubyte.gz", 29515,
           "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845"},
          {"t10k-images-idx3-ubyte.gz", 4422102,
           "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073"},
          {"t10k-labels-idx1-ubyte.gz", 5148,
           "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5"},
      }},
      .mirrors = {"http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"},
      .train_size = 60000,
      .test_size = 10000,
      .class_names = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                      "Sneaker", "Bag", "Ankle boot"},
      .mean = 0.2860f,
      .std = 0.3530f,
  });
  t.push_back(DatasetInfo{
      .name = "kmnist",
      .description = "Kuzushiji-MNIST cursive Japanese hiragana (Clanuwat et al.), 28x28 grayscale",
      .files = {{
          {"train-images-idx3-ubyte.gz", 18165135,
           "51467d22d8cc72929e2a028a0428f2086b092bb31cfb79c69cc0a90ce135fde4"},
          {"train-labels-idx1-ubyte.gz", 29497,
           "e38f9ebcd0f3ebcdec7fc8eabdcdaef93bb0df8ea12bee65224341c8183d8e17"},
          {"t10k-images-idx3-ubyte.gz", 3041136,
           "edd7a857845ad6bb1d0ba43fe7e794d164fe2dce499a1694695a792adfac43c5"},
          {"t10k-labels-idx1-ubyte.gz", 5120,
           "20bb9a0ef54c7db3efc55a92eef5582c109615df22683c380526788f98e42a1c"},
      }},
      .mirrors = {"https://codh.rois.ac.jp/kmnist/dataset/kmnist/"},
      .train_size = 60000,
      .test_size = 10000,
      // Romanized readings of the ten hiragana in kmnist_classmap.csv.
      .class_names = {"o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"},
  });
  return t;
}

const std::vector<DatasetInfo>& table() {
  static const std::vector<DatasetInfo> t = make_table();
  return t;
}

}  // namespace

std::span<const DatasetInfo> known_datasets() {
  return table();
}

const DatasetInfo& dataset_info(std::string_view name) {
  std::string known;
  for (const DatasetInfo& info : table()) {
    if (info.name == name) return info;
    known += (known.empty() ? "" : ", ") + info.name;
  }
  fail("unknown dataset '{}': known datasets are {}", name, known);
}

}  // namespace convkit::data
