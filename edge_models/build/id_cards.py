"""Sample PRC resident ID cards (front) for OCR tests and benchmarks.

Made-up people only: random names from common characters, region codes from
a small table, random dates and addresses, and a valid GB 11643 check digit.
Every card is marked "样本 SAMPLE" in red over the photo area. Pillow draws
the standard front layout at 10 px per millimetre (856 x 540); degradations
(blur, glare, rotation, low light, JPEG noise) imitate a card held to a
kiosk camera.

    python -m edge_models.build.id_cards --out build/id_cards --n 20 --seed 1
"""

from __future__ import annotations

import argparse
import io
import json
import random
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont

FONT_PATH = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")  # Debian fonts-wqy-microhei
CARD_W, CARD_H = 856, 540
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋"
    "蔡余杜叶程苏魏吕丁沈姚卢姜崔钟谭陆汪范金石廖贾夏韦方白邹孟熊秦邱江尹薛段雷侯"
    "龙史陶黎贺顾毛郝龚邵万钱严武戴莫孔向汤"
)
GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红"
    "建文辉力鹏飞宇浩然欣怡子涵思雨俊博晨梓轩佳琪雪梅志国海燕春林德成"
)
ETHNICITIES = ("汉",) * 12 + ("回", "满", "壮", "蒙古", "苗", "土家", "维吾尔", "朝鲜")
# Region code -> the address prefix that goes with it (a few real districts).
REGIONS: dict[str, str] = {
    "110101": "北京市东城区",
    "110105": "北京市朝阳区",
    "310104": "上海市徐汇区",
    "310115": "上海市浦东新区",
    "440104": "广东省广州市越秀区",
    "440305": "广东省深圳市南山区",
    "330106": "浙江省杭州市西湖区",
    "320102": "江苏省南京市玄武区",
    "510107": "四川省成都市武侯区",
    "420106": "湖北省武汉市武昌区",
    "610113": "陕西省西安市雁塔区",
    "370102": "山东省济南市历下区",
}
STREETS = tuple("和平 建设 人民 解放 中山 新华 长江 朝阳 光明 幸福 友谊 文化 青年 胜利 南京 东风".split())  # noqa: SIM905
STREET_KINDS = ("路", "街", "大道")


@dataclass(frozen=True, slots=True)
class SamplePerson:
    """The printed fields of one made-up card."""

    name: str
    sex: str
    ethnicity: str
    birth: date
    address: str
    id_number: str


def check_digit(first17: str) -> str:
    """The GB 11643 check character for the first 17 digits."""
    return _CHECK[sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def random_person(rng: random.Random) -> SamplePerson:
    """A made-up person with a valid ID number that matches the other fields."""
    name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))
    sex = rng.choice("男女")
    birth = date(1950, 1, 1) + timedelta(days=rng.randrange(365 * 55))
    region = rng.choice(sorted(REGIONS))
    street = rng.choice(STREETS) + rng.choice(STREET_KINDS)
    address = f"{REGIONS[region]}{street}{rng.randint(1, 399)}号"
    if rng.random() < 0.6:
        address += f"{rng.randint(1, 30)}栋{rng.randint(1, 28)}{rng.randint(1, 9):02d}室"
    seq = rng.randrange(0, 999)
    seq -= seq % 2 if sex == "女" else (seq % 2) - 1  # odd for men, even for women
    first17 = f"{region}{birth:%Y%m%d}{seq:03d}"
    return SamplePerson(name, sex, rng.choice(ETHNICITIES), birth, address, first17 + check_digit(first17))


def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(FONT_PATH), size)


def _wrap(text: str, per_line: int) -> list[str]:
    return [text[i : i + per_line] for i in range(0, len(text), per_line)]


def draw_card(person: SamplePerson) -> Image.Image:
    """The front of a sample card (RGB, 856 x 540), marked "样本 SAMPLE"."""
    img = Image.new("RGB", (CARD_W, CARD_H), (236, 240, 236))
    d = ImageDraw.Draw(img)
    for y in range(0, CARD_H, 6):  # the faint guilloche-like background
        d.line([(0, y), (CARD_W, y + 40)], fill=(226, 233, 230), width=1)
    d.rounded_rectangle([2, 2, CARD_W - 3, CARD_H - 3], radius=28, outline=(190, 200, 195), width=2)
    label, value, small = (118, 140, 160), (20, 20, 20), _font(26)
    big = _font(30)
    d.text((70, 70), "姓名", font=small, fill=label)
    d.text((180, 66), person.name, font=big, fill=value)
    d.text((70, 140), "性别", font=small, fill=label)
    d.text((180, 138), person.sex, font=small, fill=value)
    d.text((290, 140), "民族", font=small, fill=label)
    d.text((390, 138), person.ethnicity, font=small, fill=value)
    d.text((70, 205), "出生", font=small, fill=label)
    b = person.birth
    d.text((180, 203), f"{b.year}", font=small, fill=value)
    d.text((255, 205), "年", font=small, fill=label)
    d.text((300, 203), f"{b.month}", font=small, fill=value)
    d.text((340, 205), "月", font=small, fill=label)
    d.text((385, 203), f"{b.day}", font=small, fill=value)
    d.text((425, 205), "日", font=small, fill=label)
    d.text((70, 270), "住址", font=small, fill=label)
    for i, line in enumerate(_wrap(person.address, 11)):
        d.text((180, 268 + i * 40), line, font=small, fill=value)
    d.text((70, 445), "公民身份号码", font=small, fill=label)
    d.text((290, 440), " ".join([person.id_number]), font=_font(34), fill=value)
    # The photo area: a plain silhouette (no real face), with the sample mark over it.
    d.rectangle([560, 60, 800, 360], fill=(214, 222, 230))
    d.ellipse([630, 110, 730, 230], fill=(170, 180, 192))
    d.pieslice([585, 230, 775, 430], 180, 360, fill=(170, 180, 192))
    d.text((600, 370), "样本 SAMPLE", font=_font(32), fill=(200, 30, 30))
    return img


def _on_background(card: Image.Image, margin: int = 40, shade: int = 90) -> Image.Image:
    out = Image.new("RGB", (card.width + 2 * margin, card.height + 2 * margin), (shade, shade - 10, shade - 20))
    out.paste(card, (margin, margin))
    return out


def _blur(img: Image.Image, rng: random.Random) -> Image.Image:
    return img.filter(ImageFilter.GaussianBlur(radius=rng.uniform(1.6, 2.2)))


def _glare(img: Image.Image, rng: random.Random) -> Image.Image:
    w, h = img.size
    mask = Image.new("L", img.size, 0)
    cx, cy = rng.randint(w // 4, 3 * w // 4), rng.randint(h // 4, 3 * h // 4)
    ImageDraw.Draw(mask).ellipse([cx - w // 6, cy - h // 5, cx + w // 6, cy + h // 5], fill=170)
    mask = mask.filter(ImageFilter.GaussianBlur(radius=40))
    return Image.composite(Image.new("RGB", img.size, (255, 255, 250)), img, mask)


def _rotate(img: Image.Image, rng: random.Random) -> Image.Image:
    angle = rng.choice((-1, 1)) * rng.uniform(4.0, 8.0)
    return img.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=(90, 80, 70))


def _low_light(img: Image.Image, rng: random.Random) -> Image.Image:
    dark = img.point(lambda v: int(v * 0.35))
    noise = Image.effect_noise(img.size, 12).convert("RGB")
    return Image.blend(dark, noise, 0.08)


def _jpeg(img: Image.Image, rng: random.Random) -> Image.Image:
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=rng.randint(12, 18))
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


DEGRADATIONS: dict[str, Callable[[Image.Image, random.Random], Image.Image]] = {
    "blur": _blur,
    "glare": _glare,
    "rotation": _rotate,
    "low_light": _low_light,
    "jpeg": _jpeg,
}


def camera_view(person: SamplePerson, degradation: str | None, rng: random.Random) -> Image.Image:
    """The card as a camera sees it: on a background, with one degradation (or none).

    Raises:
        KeyError: If ``degradation`` is not one of :data:`DEGRADATIONS`.
    """
    img = _on_background(draw_card(person))
    return img if degradation is None else DEGRADATIONS[degradation](img, rng)


def write_set(out: Path, n: int, seed: int, degradations: list[str | None]) -> list[dict[str, str]]:
    """Write ``n`` people x ``degradations`` PNGs and ``truth.json``; return the truth rows."""
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, str]] = []
    for i in range(n):
        person = random_person(rng)
        for deg in degradations:
            name = f"card-{i:03d}-{deg or 'clean'}.png"
            camera_view(person, deg, rng).save(out / name)
            row = {k: str(v) for k, v in asdict(person).items()}
            rows.append({"file": name, "degradation": deg or "clean", **row})
    (out / "truth.json").write_text(json.dumps(rows, ensure_ascii=False, indent=1), encoding="utf-8")
    return rows


def main(argv: list[str] | None = None) -> None:
    """Command line: write a set of sample cards."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("build/id_cards"))
    ap.add_argument("--n", type=int, default=10)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--clean-only", action="store_true")
    args = ap.parse_args(argv)
    degs: list[str | None] = [None] if args.clean_only else [None, *DEGRADATIONS]
    rows = write_set(args.out, args.n, args.seed, degs)
    print(f"wrote {len(rows)} sample cards to {args.out}")


if __name__ == "__main__":
    main()
