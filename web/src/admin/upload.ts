import { RpcError } from '../lib/api.ts';

/**
 * Sends a file to `POST /upload` and answers its upload id; `onProgress` hears the bytes
 * sent (fetch cannot report an upload's progress, XMLHttpRequest can).
 */
export function uploadFile(file: File, onProgress: (sent: number, total: number) => void): Promise<string> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', '/upload');
    xhr.setRequestHeader('Content-Type', 'application/octet-stream');
    xhr.setRequestHeader('X-Hearth-Request', '1');
    xhr.upload.addEventListener('progress', (e) => onProgress(e.loaded, e.total || file.size));
    xhr.addEventListener('load', () => {
      let body: { upload?: string; error?: { code: number; message: string; data?: { code: string } } };
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        reject(
          new RpcError({
            code: -32000,
            message: `the box answered HTTP ${xhr.status}`,
            data: { code: 'bad_answer' },
          }),
        );
        return;
      }
      if (xhr.status === 201 && typeof body.upload === 'string') resolve(body.upload);
      else
        reject(
          new RpcError(
            body.error ?? { code: -32000, message: `HTTP ${xhr.status}`, data: { code: 'bad_answer' } },
          ),
        );
    });
    xhr.addEventListener('error', () =>
      reject(
        new RpcError({ code: -32000, message: 'the upload was cut off', data: { code: 'unreachable' } }),
      ),
    );
    xhr.send(file);
  });
}
