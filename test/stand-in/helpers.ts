import { GoogleGenAI } from '@google/genai';
import sharp from 'sharp';

/** A tiny solid PNG made with real sharp. */
export async function tinyPng(width: number, height: number, colour = '#3366cc'): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: colour } })
    .png()
    .toBuffer();
}

/** The real SDK pointed at a stand-in. */
export function sdkFor(url: string): GoogleGenAI {
  return new GoogleGenAI({ apiKey: 'test-key', httpOptions: { baseUrl: url } });
}

export async function sizeOf(bytes: Buffer): Promise<[number, number]> {
  const { width, height } = await sharp(bytes).metadata();
  return [width ?? 0, height ?? 0];
}

/** POST a generateContent body straight to the stand-in (no SDK), for protocol checks. */
export async function postGenerate(
  url: string,
  model: string,
  body: unknown,
  headers: Record<string, string> = { 'x-goog-api-key': 'test-key' },
): Promise<Response> {
  return fetch(`${url}/v1beta/models/${model}:generateContent`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}
