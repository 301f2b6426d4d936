// The dataset registry: the known entries, their published sizes and checksums, and the error
// for an unknown name.
#include <convkit/data/registry.h>
#include <convkit/util/error.h>

#include <gtest/gtest.h>

#include <set>

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
    EXPECT_EQ(d.num_classes(), 10) << d.name;
    EXPECT_EQ(d.channels * d.height * d.width, 784) << d.name;
    EXPECT_EQ(d.mean.has_value(), d.std.has_value()) << d.name;
    std::set<std::string> files;
    for (const DatasetFile& f : d.files) {
      EXPECT_TRUE(files.insert(f.name).second) << f.name;
      EXPECT_TRUE(f.name.ends_with("-ubyte.gz")) << f.name;
      EXPECT_GT(f.bytes, 0) << f.name;
      ASSERT_EQ(f.sha256.size(), 64u) << f.name;
      EXPECT_EQ(f.sha256.find_first_not_of("0123456789abcdef"), std::string::npos) << f.name;
    }
  }
  EXPECT_TRUE(names.count("kmnist"));
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
