/**
 * Progress bars on stderr (cli-progress) for downloads and extraction. They draw only when stderr
 * is a terminal, so logs and tests stay clean; the library reports progress through callbacks and
 * only the CLI builds bars from them.
 */
import * as cliProgress from "cli-progress";
import type { ExtractProgress } from "../extract/extract";
import type { DownloadProgress } from "../hub/hub";

function mb(bytes: number): string {
  return (bytes / 1e6).toFixed(1);
}

/** A bar per downloaded file: name, percentage, MB done / total and MB/s. */
export function downloadBar(stream: NodeJS.WriteStream = process.stderr): {
  onProgress: (p: DownloadProgress) => void;
  stop: () => void;
} {
  let bar: cliProgress.SingleBar | undefined;
  let file = "";
  let started = 0;
  const stop = (): void => {
    bar?.stop();
    bar = undefined;
  };
  return {
    onProgress: (p) => {
      if (p.file !== file) {
        stop();
        file = p.file;
        started = Date.now();
        bar = new cliProgress.SingleBar(
          {
            stream,
            format: "{file} |{bar}| {percentage}% {done}/{size} MB {speed} MB/s",
            hideCursor: true,
            clearOnComplete: false,
          },
          cliProgress.Presets.shades_classic,
        );
        bar.start(p.totalBytes ?? p.bytes, p.bytes, { file, done: mb(p.bytes), size: "?", speed: "0.0" });
      }
      const seconds = Math.max(1e-3, (Date.now() - started) / 1000);
      if (p.totalBytes !== undefined) bar!.setTotal(p.totalBytes);
      bar!.update(p.bytes, {
        file,
        done: mb(p.bytes),
        size: p.totalBytes === undefined ? "?" : mb(p.totalBytes),
        speed: mb(p.receivedThisRun / seconds),
      });
      if (p.done) stop();
    },
    stop,
  };
}
/** A bar for extraction: tokens done (of --max-tokens when given) and tokens/s. */
export function extractBar(stream: NodeJS.WriteStream = process.stderr): {
  onProgress: (p: ExtractProgress) => void;
  stop: () => void;
} {
  let bar: cliProgress.SingleBar | undefined;
  return {
    onProgress: (p) => {
      const speed = p.seconds > 0 ? (p.tokensThisRun / p.seconds).toFixed(0) : "0";
      const payload = { samples: p.samples, speed };
      if (!bar) {
        const format =
          p.totalTokens === undefined
            ? "extract {value} tokens, {samples} sequences | {speed} tokens/s"
            : "extract |{bar}| {percentage}% {value}/{total} tokens, {samples} sequences | {speed} tokens/s | ETA {eta_formatted}";
        bar = new cliProgress.SingleBar({ stream, format, hideCursor: true, etaBuffer: 50 }, cliProgress.Presets.shades_classic);
        bar.start(p.totalTokens ?? Math.max(1, p.tokens), p.tokens, payload);
      }
      if (p.totalTokens === undefined) bar.setTotal(Math.max(1, p.tokens));
      bar.update(p.tokens, payload);
    },
    stop: () => bar?.stop(),
  };
}
