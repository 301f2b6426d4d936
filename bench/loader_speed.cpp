// loader_speed: convkit's Loader reading an image folder (decode + resize + flip/crop, normalized
// f32 batches), images/s over whole epochs, one JSON line (bench/loader_speed.py compares it with
// torchvision's ImageFolder + DataLoader on the same tree).
//
//   loader_speed --folder /tmp/fashion-jpeg/train --size 64 --workers 2 --epochs 1
#include <convkit/data/augment.h>
#include <convkit/data/image_folder.h>
#include <convkit/data/loader.h>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <iostream>

int main(int argc, char** argv) {
  using namespace convkit;
  CLI::App app{"convkit Loader images/s on an image folder"};
  std::string folder;
  std::int64_t size = 64, batch = 128;
  int workers = 2, epochs = 1, augment_threads = 1;
  std::int64_t limit = 0;
  std::string resize = "stretch";
  bool random_resized_crop = false;
  app.add_option("--folder", folder, "root/<class>/*.jpg")->required();
  app.add_option("--size", size, "sample side in pixels");
  app.add_option("--batch", batch);
  app.add_option("--workers", workers);
  app.add_option("--epochs", epochs);
  app.add_option("--limit", limit, "at most this many images (0: all)");
  app.add_option("--resize", resize, "stretch | center_crop | letterbox");
  app.add_flag("--random-resized-crop", random_resized_crop, "RandomResizedCrop instead of resize");
  app.add_option("--augment-threads", augment_threads);
  CLI11_PARSE(app, argc, argv);

  const auto t0 = std::chrono::steady_clock::now();
  std::shared_ptr<const data::Source> source =
      data::scan_image_folder(folder, {.min_height = size, .min_width = size});
  if (limit > 0 && limit < source->size()) {
    std::vector<std::int64_t> first(static_cast<std::size_t>(limit));
    for (std::int64_t i = 0; i < limit; ++i) first[std::size_t(i)] = i * source->size() / limit;
    source = std::make_shared<data::SubsetSource>(source, std::move(first));
  }
  const double scan = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  data::LoaderOptions options{.batch_size = batch,
                              .seed = 1,
                              .mean = {0.5f, 0.5f, 0.5f},
                              .std = {0.25f, 0.25f, 0.25f},
                              .workers = workers};
  options.geometry = data::Geometry{.channels = 3,
                                    .height = size,
                                    .width = size,
                                    .resize = data::parse_resize_policy(resize),
                                    .random_crop = {.enabled = random_resized_crop}};
  data::AugmentOptions aug{.horizontal_flip = 0.5f, .crop_padding = 4, .threads = augment_threads};
  if (random_resized_crop) aug.crop_padding = 0;
  options.augment = data::make_augmenter(aug, 1, options.mean, options.std);
  data::Loader loader(source, options);
  std::int64_t images = 0;
  double checksum = 0;
  const auto start = std::chrono::steady_clock::now();
  for (int e = 0; e < epochs; ++e) {
    loader.start_epoch(e);
    while (auto b = loader.next()) {
      images += b->labels.numel();
      checksum += b->images.data<float>()[0];
    }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << nlohmann::json{{"images", images},
                              {"seconds", seconds},
                              {"images_per_second", double(images) / seconds},
                              {"scan_seconds", scan},
                              {"workers", workers},
                              {"size", size},
                              {"checksum", checksum}}
                   .dump()
            << "\n";
}
