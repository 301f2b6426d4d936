// The dataset registry: the known entries (IDX and CIFAR archives), their published sizes and
// checksums, and the error for an unknown name.
#include <convkit/data/registry.h>
#include <convkit/util/error.h>

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

namespace convkit::data {
namespace {

TEST(RegistryTest, Mnist) {
  const DatasetInfo& m = dataset_info("mnist");
  EXPECT_EQ(m.name, "mnist");
  EXPECT_EQ(m.files[kTrainImages].name, "train-images-idx3-ubyte.gz");
  EXPECT_EQ(m.files[kTrainImages].bytes, 9912422);
  EXPECT_EQ(m.files[kTrainImages].sha256,
            "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609");
  EXPECT_EQ(m.files[kTestLabels].name, "t10k-labels-idx1-ubyte.gz");
  EXPECT_EQ(m.files[kTestLabels].raw_name(), "t10k-labels-idx1-ubyte");
  EXPECT_EQ(m.files[kTestLabels].bytes, 4542);
  EXPECT_EQ(m.mirrors.front(), "https://ossci-datasets.s3.amazonaws.com/mnist/");
  EXPECT_EQ(m.mirrors.back(), "https://storage.googleapis.com/cvdf-datasets/mnist/");
  EXPECT_EQ(m.num_classes(), 10);
  EXPECT_EQ(m.train_size, 60000);
  EXPECT_EQ(m.test_size, 10000);
  EXPECT_FLOAT_EQ(*m.mean, 0.1307f);
  EXPECT_FLOAT_EQ(*m.std, 0.3081f);
}

TEST(RegistryTest, FashionMnist) {
  const DatasetInfo& f = dataset_info("fashion-mnist");
  EXPECT_EQ(f.class_names.front(), "T-shirt/top");
  EXPECT_EQ(f.class_names.back(), "Ankle boot");
  EXPECT_EQ(f.files[kTrainImages].bytes, 26421880);
  EXPECT_EQ(f.mirrors.front(), "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/");
  EXPECT_FLOAT_EQ(*f.mean, 0.2860f);
  EXPECT_FLOAT_EQ(*f.std, 0.3530f);
}

TEST(RegistryTest, EveryEntryIsComplete) {
  std::set<std::string> names;
  for (const DatasetInfo& d : known_datasets()) {
    EXPECT_TRUE(names.insert(d.name).second) << d.name;
    EXPECT_FALSE(d.mirrors.empty()) << d.name;
    for (const std::string& m : d.mirrors) EXPECT_TRUE(m.ends_with('/')) << m;
    EXPECT_EQ(d.mean.has_value(), d.std.has_value()) << d.name;
    if (d.format == DatasetFormat::idx4) {
      EXPECT_EQ(d.num_classes(), 10) << d.name;
      EXPECT_EQ(d.channels * d.height * d.width, 784) << d.name;
      EXPECT_EQ(d.published().size(), 4u) << d.name;
    } else {
      EXPECT_EQ(d.channels * d.height * d.width, 3072) << d.name;
      EXPECT_FALSE(d.mean.has_value()) << d.name;  // one float cannot hold per-channel values
      ASSERT_EQ(d.published().size(), 1u) << d.name;
      EXPECT_TRUE(d.archive.name.ends_with(".tar.gz")) << d.name;
    }
    std::set<std::string> files;
    for (const DatasetFile& f : d.published()) {
      EXPECT_TRUE(files.insert(f.name).second) << f.name;
      if (d.format == DatasetFormat::idx4) EXPECT_TRUE(f.name.ends_with("-ubyte.gz")) << f.name;
      EXPECT_GT(f.bytes, 0) << f.name;
      ASSERT_EQ(f.sha256.size(), 64u) << f.name;
      EXPECT_EQ(f.sha256.find_first_not_of("0123456789abcdef"), std::string::npos) << f.name;
    }
  }
  EXPECT_TRUE(names.count("kmnist"));
  EXPECT_TRUE(names.count("cifar10"));
}

TEST(RegistryTest, Cifar10) {
  const DatasetInfo& c = dataset_info("cifar10");
  EXPECT_EQ(c.format, DatasetFormat::cifar10_binary);
  EXPECT_TRUE(c.is_archive());
  EXPECT_EQ(c.archive.name, "cifar-10-binary.tar.gz");
  EXPECT_EQ(c.archive.raw_name(), "cifar-10-binary.tar");
  EXPECT_EQ(c.archive.bytes, 170052171);
  EXPECT_EQ(c.archive.sha256, "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd");
  EXPECT_EQ(&c.published().front(), &c.archive);
  EXPECT_EQ(c.mirrors, std::vector<std::string>{"https://www.cs.toronto.edu/~kriz/"});
  EXPECT_EQ(c.folder_name(), "cifar10");
  EXPECT_EQ(c.channels, 3);
  EXPECT_EQ(c.height, 32);
  EXPECT_EQ(c.width, 32);
  EXPECT_EQ(c.train_size, 50000);
  EXPECT_EQ(c.test_size, 10000);
  EXPECT_EQ(c.class_names,
            (std::vector<std::string>{"airplane", "automobile", "bird", "cat", "deer", "dog",
                                      "frog", "horse", "ship", "truck"}));
  EXPECT_FALSE(c.mean.has_value());  // the run layer measures per-channel statistics
}

TEST(RegistryTest, Cifar100) {
  const DatasetInfo& f = dataset_info("cifar100");
  EXPECT_EQ(f.format, DatasetFormat::cifar100_binary);
  EXPECT_EQ(f.archive.name, "cifar-100-binary.tar.gz");
  EXPECT_EQ(f.archive.bytes, 168513733);
  EXPECT_EQ(f.archive.sha256, "58a81ae192c23a4be8b1804d68e518ed807d710a4eb253b1f2a199162a40d8ec");
  ASSERT_EQ(f.num_classes(), 100);
  EXPECT_EQ(f.class_names[0], "apple");
  EXPECT_EQ(f.class_names[58], "pickup_truck");
  EXPECT_EQ(f.class_names[99], "worm");
  EXPECT_EQ(std::set<std::string>(f.class_names.begin(), f.class_names.end()).size(), 100u);
  const DatasetInfo& c = dataset_info("cifar100-coarse");
  EXPECT_EQ(c.format, DatasetFormat::cifar100_coarse_binary);
  EXPECT_EQ(c.archive.sha256, f.archive.sha256);
  EXPECT_EQ(c.folder_name(), "cifar100");
  ASSERT_EQ(c.num_classes(), 20);
  EXPECT_EQ(c.class_names[0], "aquatic_mammals");
  EXPECT_EQ(c.class_names[19], "vehicles_2");
}

TEST(RegistryTest, UnknownNameListsKnownOnes) {
  try {
    dataset_info("cifar-11");
    FAIL() << "no error";
  } catch (const Error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("unknown dataset 'cifar-11'"), std::string::npos) << m;
    EXPECT_NE(m.find("mnist, fashion-mnist, kmnist"), std::string::npos) << m;
  }
}

}  // namespace
}  // namespace convkit::data
