// ProgressBar: on a terminal a bar redrawn in place; piped, a plain line every interval (never
// more often) and one summary line at the end.
#include <convkit/train/progress.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <thread>

namespace convkit::train {
namespace {

std::string read_all(std::FILE* f) {
  std::rewind(f);
  std::string out;
  char buf[4096];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, f)) out.append(buf, n);
  return out;
}

int count(const std::string& s, const std::string& part) {
  int n = 0;
  for (std::size_t p = s.find(part); p != std::string::npos; p = s.find(part, p + 1)) ++n;
  return n;
}

TEST(ProgressBar, PipedOutputGetsAPlainLineEveryIntervalAndASummary) {
  std::FILE* f = std::tmpfile();
  ProgressBar bar("epoch 1/2", 100, f, /*interactive=*/false, std::chrono::milliseconds(30));
  bar.update(1, 32, {{"loss", 2.0}});  // too soon: nothing
  std::this_thread::sleep_for(std::chrono::milliseconds(40));
  bar.update(10, 320, {{"loss", 1.5}});
  bar.update(11, 352, {{"loss", 1.4}});  // within the interval again: nothing
  bar.finish(3200, {{"loss", 0.5}});
  const std::string out = read_all(f);
  std::fclose(f);
  EXPECT_EQ(count(out, "\n"), 2) << out;
  EXPECT_EQ(count(out, "\r"), 0) << out;
  EXPECT_NE(out.find("epoch 1/2  10/100 (10%)"), std::string::npos) << out;
  EXPECT_NE(out.find("ETA"), std::string::npos) << out;
  EXPECT_NE(out.find("loss 1.5000"), std::string::npos) << out;
  EXPECT_NE(out.find("loss 0.5000"), std::string::npos) << out;
}

TEST(ProgressBar, ATerminalGetsABarRedrawnInPlace) {
  std::FILE* f = std::tmpfile();
  ProgressBar bar("epoch 1/1", 4, f, /*interactive=*/true);
  bar.update(4, 128, {});
  bar.finish(128, {});
  const std::string out = read_all(f);
  std::fclose(f);
  EXPECT_NE(out.find("\r"), std::string::npos);
  EXPECT_NE(out.find("["), std::string::npos);
  EXPECT_EQ(ProgressBar::format_duration(3723), "1:02:03");
  EXPECT_EQ(ProgressBar::format_duration(123), "02:03");
}

// A note (a change of thread count) is a line of its own: piped, just the line; on a terminal
// the bar's line is cleared first and the bar is redrawn below it at the next update.
TEST(ProgressBar, NotesAreLinesOfTheirOwn) {
  std::FILE* piped = std::tmpfile();
  ProgressBar plain("epoch 1/1", 10, piped, /*interactive=*/false);
  plain.note("threads 2 -> 1: other processes are using the CPUs");
  EXPECT_EQ(read_all(piped), "threads 2 -> 1: other processes are using the CPUs\n");
  std::fclose(piped);

  std::FILE* tty = std::tmpfile();
  ProgressBar bar("epoch 1/1", 100, tty, /*interactive=*/true);
  bar.update(10, 320, {});
  bar.note("threads 1 -> 2: the CPUs are free again");
  bar.update(11, 352, {});  // right after the note (within 100 ms of the last draw), still drawn
  const std::string out = read_all(tty);
  std::fclose(tty);
  const auto note = out.find("\r\033[Kthreads 1 -> 2: the CPUs are free again\n");
  ASSERT_NE(note, std::string::npos) << out;
  EXPECT_NE(out.find("epoch 1/1", note), std::string::npos) << out;
}

}  // namespace
}  // namespace convkit::train
