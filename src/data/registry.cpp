// The table of known datasets. Checksums are SHA-256 of the published .gz files.
// Provenance:
// - mnist, fashion-mnist: computed with sha256sum from the copies in /work/shared/data, whose
//   MD5s match the official ones; identical to tensorflow/datasets url_checksums/{mnist,
//   fashion_mnist}.txt.
// - kmnist: tensorflow/datasets url_checksums/kmnist.txt (sizes and SHA-256), the same SHA-256s
//   as ankane/torchvision-ruby datasets/kmnist.rb. Its normalization statistics are left out
//   (published values disagree and could not be checked against the data).
// - cifar10, cifar100: SHA-256s as in tensorflow/datasets' checksum registry and, independently,
//   other projects' download code (gomlx/gomlx examples/cifar for both, MLDatasets.jl and
//   ankane/torchvision-ruby for cifar100); sizes as stated next to the official MD5s by projects
//   that downloaded them. Class names: the archives' batches.meta.txt, fine_label_names.txt and
//   coarse_label_names.txt. No normalization statistics (the field holds one value; the run
//   layer measures per-channel ones with channel_stats) and no mirror but the authors' own.
// - EMNIST is not listed: NIST publishes it only inside one 562 MB gzip.zip, so there are no
//   per-file downloads or per-file checksums from a source we could verify.
#include <convkit/data/registry.h>
#include <convkit/util/error.h>

namespace convkit::data {

std::string DatasetFile::raw_name() const {
  return name.ends_with(".gz") ? name.substr(0, name.size() - 3) : name;
}

std::span<const DatasetFile> DatasetInfo::published() const {
  if (is_archive()) return {&archive, 1};
  return files;
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
  t.push_back(DatasetInfo{
      .name = "cifar10",
      .description = "CIFAR-10 tiny images in 10 classes (Krizhevsky 2009), 32x32 RGB",
      .format = DatasetFormat::cifar10_binary,
      .archive = {"cifar-10-binary.tar.gz", 170052171,
                  "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd"},
      .mirrors = {"https://www.cs.toronto.edu/~kriz/"},
      .channels = 3,
      .height = 32,
      .width = 32,
      .train_size = 50000,
      .test_size = 10000,
      .class_names = {"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                      "ship", "truck"},
  });
  const DatasetFile cifar100 = {"cifar-100-binary.tar.gz", 168513733,
                                "58a81ae192c23a4be8b1804d68e518ed807d710a4eb253b1f2a199162a40d8ec"};
  t.push_back(DatasetInfo{
      .name = "cifar100",
      .description = "CIFAR-100 tiny images in 100 classes (Krizhevsky 2009), 32x32 RGB",
      .format = DatasetFormat::cifar100_binary,
      .archive = cifar100,
      .mirrors = {"https://www.cs.toronto.edu/~kriz/"},
      .channels = 3,
      .height = 32,
      .width = 32,
      .train_size = 50000,
      .test_size = 10000,
      .class_names = {"apple",    "aquarium_fish", "baby",       "bear",         "beaver",
                      "bed",      "bee",           "beetle",     "bicycle",      "bottle",
                      "bowl",     "boy",           "bridge",     "bus",          "butterfly",
                      "camel",    "can",           "castle",     "caterpillar",  "cattle",
                      "chair",    "chimpanzee",    "clock",      "cloud",        "cockroach",
                      "couch",    "crab",          "crocodile",  "cup",          "dinosaur",
                      "dolphin",  "elephant",      "flatfish",   "forest",       "fox",
                      "girl",     "hamster",       "house",      "kangaroo",     "keyboard",
                      "lamp",     "lawn_mower",    "leopard",    "lion",         "lizard",
                      "lobster",  "man",           "maple_tree", "motorcycle",   "mountain",
                      "mouse",    "mushroom",      "oak_tree",   "orange",       "orchid",
                      "otter",    "palm_tree",     "pear",       "pickup_truck", "pine_tree",
                      "plain",    "plate",         "poppy",      "porcupine",    "possum",
                      "rabbit",   "raccoon",       "ray",        "road",         "rocket",
                      "rose",     "sea",           "seal",       "shark",        "shrew",
                      "skunk",    "skyscraper",    "snail",      "snake",        "spider",
                      "squirrel", "streetcar",     "sunflower",  "sweet_pepper", "table",
                      "tank",     "telephone",     "television", "tiger",        "tractor",
                      "train",    "trout",         "tulip",      "turtle",       "wardrobe",
                      "whale",    "willow_tree",   "wolf",       "woman",        "worm"},
  });
  t.push_back(DatasetInfo{
      .name = "cifar100-coarse",
      .description = "CIFAR-100 with its 20 coarse labels (superclasses), 32x32 RGB",
      .format = DatasetFormat::cifar100_coarse_binary,
      .archive = cifar100,
      .folder = "cifar100",
      .mirrors = {"https://www.cs.toronto.edu/~kriz/"},
      .channels = 3,
      .height = 32,
      .width = 32,
      .train_size = 50000,
      .test_size = 10000,
      .class_names = {"aquatic_mammals",
                      "fish",
                      "flowers",
                      "food_containers",
                      "fruit_and_vegetables",
                      "household_electrical_devices",
                      "household_furniture",
                      "insects",
                      "large_carnivores",
                      "large_man-made_outdoor_things",
                      "large_natural_outdoor_scenes",
                      "large_omnivores_and_herbivores",
                      "medium_mammals",
                      "non-insect_invertebrates",
                      "people",
                      "reptiles",
                      "small_mammals",
                      "trees",
                      "vehicles_1",
                      "vehicles_2"},
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
