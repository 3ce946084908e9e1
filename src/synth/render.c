/* Drawing of one synthetic road scene: sky or buildings, a road in perspective, vehicles and lighting, in integer math. */
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "synth/synth.h"

/* A splitmix64 stream. Every random choice of a scene comes from one. */
typedef struct Rng {
    uint64_t state;
} Rng;

static uint64_t rngNext(Rng *r)
{
    uint64_t z = (r->state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* Returns a value in lo..hi inclusive (lo <= hi, span below 2^32). */
static int rngRange(Rng *r, int lo, int hi)
{
    uint64_t span = (uint64_t)((int64_t)hi - lo + 1);
    return lo + (int)(((rngNext(r) >> 32) * span) >> 32);
}

typedef struct Rgb {
    int r, g, b;
} Rgb;

/* The canvas: pixels and, per pixel, the vehicle drawn there (0 = none,
 * k + 1 = vehicle k). */
typedef struct Canvas {
    int w, h;
    uint8_t *rgb;      /* [h][w][3] */
    uint8_t *owner;    /* [h][w] */
} Canvas;

static int clampInt(int v, int lo, int hi)
{
    if (v < lo)
        return lo;
    if (v > hi)
        return hi;
    return v;
}

static void putPixel(Canvas *c, int x, int y, Rgb col, int owner)
{
    uint8_t *p = c->rgb + ((size_t)y * c->w + x) * 3;
    p[0] = (uint8_t)clampInt(col.r, 0, 255);
    p[1] = (uint8_t)clampInt(col.g, 0, 255);
    p[2] = (uint8_t)clampInt(col.b, 0, 255);
    if (owner >= 0)
        c->owner[(size_t)y * c->w + x] = (uint8_t)owner;
}

/* Fills [x0, x1) x [y0, y1), clipped to the canvas. owner -1 leaves the
 * owner map alone (shadows, background). */
static void fillRect(Canvas *c, int x0, int y0, int x1, int y1, Rgb col, int owner)
{
    x0 = clampInt(x0, 0, c->w);
    x1 = clampInt(x1, 0, c->w);
    y0 = clampInt(y0, 0, c->h);
    y1 = clampInt(y1, 0, c->h);
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++)
            putPixel(c, x, y, col, owner);
}

/* Fills the disc of radius r around (cx, cy), clipped. */
static void fillDisc(Canvas *c, int cx, int cy, int r, Rgb col, int owner)
{
    for (int y = cy - r; y <= cy + r; y++) {
        if (y < 0 || y >= c->h)
            continue;
        for (int x = cx - r; x <= cx + r; x++) {
            int dx = x - cx, dy = y - cy;
            if (x >= 0 && x < c->w && dx * dx + dy * dy <= r * r)
                putPixel(c, x, y, col, owner);
        }
    }
}

static Rgb shade(Rgb col, int percent)
{
    Rgb out = {col.r * percent / 100, col.g * percent / 100, col.b * percent / 100};
    return out;
}

static Rgb randomColor(Rng *r, int lo, int hi)
{
    Rgb col = {rngRange(r, lo, hi), rngRange(r, lo, hi), rngRange(r, lo, hi)};
    return col;
}

/* Body colours of real traffic (white, black, grey, red, blue, green,
 * yellow, silver, brown, orange), each varied a little. */
static Rgb vehicleColor(Rng *r)
{
    static const Rgb palette[] = {
        {235, 235, 235}, {30, 30, 34}, {120, 122, 128}, {180, 30, 30}, {30, 60, 160},
        {40, 110, 60},   {230, 190, 40}, {190, 192, 198}, {110, 70, 40}, {200, 100, 30},
    };
    Rgb col = palette[rngRange(r, 0, (int)(sizeof palette / sizeof palette[0]) - 1)];
    col.r += rngRange(r, -15, 15);
    col.g += rngRange(r, -15, 15);
    col.b += rngRange(r, -15, 15);
    return col;
}

/* The road: a trapezoid from the bottom edge to the vanishing point. */
typedef struct Road {
    int horizon;           /* first row below the sky */
    int vanish_x;
    int bottom_left, bottom_right;
    int lanes;
} Road;

/* Road edge x at row y (y > horizon), from the bottom edge by linear
 * interpolation towards the vanishing point. */
static int roadEdge(const Canvas *c, const Road *road, int bottom_x, int y)
{
    int depth = c->h - road->horizon;
    int t = y - road->horizon;
    return road->vanish_x + (bottom_x - road->vanish_x) * t / depth;
}

static void drawSky(Canvas *c, Rng *r, int horizon)
{
    Rgb top = {rngRange(r, 40, 110), rngRange(r, 90, 150), rngRange(r, 160, 235)};
    Rgb low = {rngRange(r, 170, 230), rngRange(r, 180, 230), rngRange(r, 190, 240)};
    if (rngRange(r, 0, 3) == 0) {   /* overcast */
        int g = rngRange(r, 140, 200);
        top = (Rgb){g - 10, g - 10, g};
        low = (Rgb){g + 20, g + 20, g + 25};
    }
    for (int y = 0; y < horizon; y++) {
        Rgb col = {top.r + (low.r - top.r) * y / horizon, top.g + (low.g - top.g) * y / horizon,
                   top.b + (low.b - top.b) * y / horizon};
        fillRect(c, 0, y, c->w, y + 1, col, -1);
    }
}

/* Buildings standing on the horizon, with window grids. */
static void drawBuildings(Canvas *c, Rng *r, int horizon)
{
    int x = -rngRange(r, 0, c->w / 8);
    while (x < c->w) {
        int bw = rngRange(r, c->w / 12, c->w / 4);
        int bh = rngRange(r, horizon / 4, horizon * 9 / 10);
        Rgb wall = randomColor(r, 70, 190);
        Rgb window = rngRange(r, 0, 1) ? shade(wall, 55) : (Rgb){200, 210, 170};
        fillRect(c, x, horizon - bh, x + bw, horizon, wall, -1);
        int cell = clampInt(bw / 6, 3, 40);
        for (int wy = horizon - bh + cell / 2; wy + cell < horizon; wy += cell)
            for (int wx = x + cell / 2; wx + cell <= x + bw; wx += cell)
                fillRect(c, wx, wy, wx + cell / 2, wy + cell / 2, window, -1);
        x += bw + rngRange(r, 0, c->w / 30);
    }
}

static void drawGround(Canvas *c, Rng *r, const Road *road)
{
    Rgb grass = rngRange(r, 0, 2) ? (Rgb){rngRange(r, 60, 110), rngRange(r, 110, 160), rngRange(r, 40, 80)}
                                  : (Rgb){rngRange(r, 140, 180), rngRange(r, 130, 160), rngRange(r, 100, 130)};
    int gray = rngRange(r, 70, 115);
    Rgb asphalt = {gray, gray, gray + rngRange(r, 0, 8)};
    Rgb paint = rngRange(r, 0, 4) ? (Rgb){230, 230, 225} : (Rgb){225, 195, 60};
    int depth = c->h - road->horizon;

    for (int y = road->horizon; y < c->h; y++) {
        int t = y - road->horizon + 1;
        int left = roadEdge(c, road, road->bottom_left, y);
        int right = roadEdge(c, road, road->bottom_right, y);
        fillRect(c, 0, y, c->w, y + 1, shade(grass, 85 + 15 * t / depth), -1);
        fillRect(c, left, y, right + 1, y + 1, asphalt, -1);

        /* Lane lines are solid at the edges and dashed inside. Lines widen
         * and dashes lengthen towards the camera (dash phase from 1/depth). */
        int line_w = 1 + (right - left) / (road->lanes * 40);
        int dash_on = ((depth * 24 / t) & 1) == 0;
        for (int k = 0; k <= road->lanes; k++) {
            if (k > 0 && k < road->lanes && !dash_on)
                continue;
            int lx = left + (right - left) * k / road->lanes;
            fillRect(c, lx - line_w / 2, y, lx - line_w / 2 + line_w, y + 1, paint, -1);
        }
    }
}

/* One vehicle before drawing: its full box and how it looks. */
typedef struct Vehicle {
    VbSynthKind kind;
    int side;              /* 1: side view, 0: rear view */
    int flip;              /* side view facing left */
    int x0, y0, x1, y1;    /* full extent, may leave the canvas */
    Rgb body;
} Vehicle;

static void drawWheel(Canvas *c, int cx, int cy, int radius, int owner)
{
    fillDisc(c, cx, cy, radius, (Rgb){25, 25, 25}, owner);
    fillDisc(c, cx, cy, radius / 2, (Rgb){140, 140, 145}, owner);
}

static void drawRear(Canvas *c, const Vehicle *v, int owner)
{
    int w = v->x1 - v->x0, h = v->y1 - v->y0;
    Rgb glass = {45, 55, 70};
    Rgb light = {200, 20, 20};
    int wheel_top = v->y1 - h * 14 / 100;
    fillRect(c, v->x0 + w / 12, wheel_top, v->x0 + w * 3 / 12, v->y1, (Rgb){20, 20, 20}, owner);
    fillRect(c, v->x1 - w * 3 / 12, wheel_top, v->x1 - w / 12, v->y1, (Rgb){20, 20, 20}, owner);

    if (v->kind == VB_SYNTH_CAR) {
        int roof = v->y0 + h * 45 / 100;
        fillRect(c, v->x0 + w / 8, v->y0, v->x1 - w / 8, roof, shade(v->body, 90), owner);
        fillRect(c, v->x0 + w / 5, v->y0 + h / 10, v->x1 - w / 5, roof - h / 20, glass, owner);
        fillRect(c, v->x0, roof, v->x1, wheel_top, v->body, owner);
    } else if (v->kind == VB_SYNTH_TRUCK) {
        fillRect(c, v->x0, v->y0, v->x1, wheel_top, v->body, owner);
        fillRect(c, v->x0 + w / 2 - 1, v->y0 + h / 10, v->x0 + w / 2 + 1, wheel_top - h / 10,
                 shade(v->body, 70), owner);
    } else {
        fillRect(c, v->x0, v->y0, v->x1, wheel_top, v->body, owner);
        fillRect(c, v->x0 + w / 10, v->y0 + h / 12, v->x1 - w / 10, v->y0 + h * 35 / 100, glass, owner);
        fillRect(c, v->x0 + w / 3, v->y0 + h / 30, v->x1 - w / 3, v->y0 + h / 12, (Rgb){240, 160, 20},
                 owner);
    }

    /* Tail lights and bumper. */
    int light_y = v->y1 - h * 32 / 100;
    fillRect(c, v->x0 + w / 20, light_y, v->x0 + w / 5, light_y + h / 10 + 1, light, owner);
    fillRect(c, v->x1 - w / 5, light_y, v->x1 - w / 20, light_y + h / 10 + 1, light, owner);
    fillRect(c, v->x0, wheel_top - h / 14, v->x1, wheel_top, shade(v->body, 50), owner);
}

/* fillRect with the columns first, for the SPAN macro of drawSide. */
static void fillColumns(Canvas *c, int x0, int x1, int y0, int y1, Rgb col, int owner)
{
    fillRect(c, x0, y0, x1, y1, col, owner);
}

static void drawSide(Canvas *c, const Vehicle *v, int owner)
{
    int w = v->x1 - v->x0, h = v->y1 - v->y0;
    Rgb glass = {50, 65, 85};
    int radius = h * 22 / 100 + 1;
    int wheel_y = v->y1 - radius;

    /* Positions are fractions of the length from the front; flip mirrors. */
#define SX(f) (v->flip ? v->x1 - w * (f) / 100 : v->x0 + w * (f) / 100)
#define SPAN(a, b) (v->flip ? SX(b) : SX(a)), (v->flip ? SX(a) : SX(b))
    if (v->kind == VB_SYNTH_CAR) {
        fillColumns(c, SPAN(20, 75), v->y0, v->y0 + h * 40 / 100, shade(v->body, 92), owner);
        fillColumns(c, SPAN(25, 46), v->y0 + h / 10, v->y0 + h * 38 / 100, glass, owner);
        fillColumns(c, SPAN(50, 70), v->y0 + h / 10, v->y0 + h * 38 / 100, glass, owner);
        fillRect(c, v->x0, v->y0 + h * 40 / 100, v->x1, wheel_y + radius / 3, v->body, owner);
        fillColumns(c, SPAN(20, 75), v->y0 + h * 38 / 100, v->y0 + h * 40 / 100 + 1, v->body, owner);
        drawWheel(c, SX(20), wheel_y, radius, owner);
        drawWheel(c, SX(80), wheel_y, radius, owner);
    } else if (v->kind == VB_SYNTH_TRUCK) {
        Rgb cab = shade(v->body, 80);
        fillColumns(c, SPAN(0, 22), v->y0 + h / 6, wheel_y, cab, owner);
        fillColumns(c, SPAN(3, 16), v->y0 + h / 4, v->y0 + h / 2, glass, owner);
        fillColumns(c, SPAN(24, 100), v->y0, wheel_y, (Rgb){v->body.g, v->body.b, v->body.r}, owner);
        fillColumns(c, SPAN(0, 100), wheel_y - h / 20, wheel_y + radius / 3, (Rgb){40, 40, 40}, owner);
        drawWheel(c, SX(12), wheel_y, radius, owner);
        drawWheel(c, SX(70), wheel_y, radius, owner);
        drawWheel(c, SX(87), wheel_y, radius, owner);
    } else {
        fillRect(c, v->x0, v->y0, v->x1, wheel_y + radius / 3, v->body, owner);
        for (int f = 12; f + 8 <= 96; f += 11)
            fillColumns(c, SPAN(f, f + 8), v->y0 + h / 8, v->y0 + h * 45 / 100, glass, owner);
        fillColumns(c, SPAN(2, 9), v->y0 + h / 8, wheel_y, glass, owner);
        fillColumns(c, SPAN(0, 100), v->y0 + h * 55 / 100, v->y0 + h * 60 / 100, shade(v->body, 60), owner);
        drawWheel(c, SX(18), wheel_y, radius, owner);
        drawWheel(c, SX(82), wheel_y, radius, owner);
    }
#undef SPAN
#undef SX
}

/* Picks the kind, view, size and place of one vehicle on the road. Sizes
 * follow the lane width at the vehicle's bottom row, so far vehicles are
 * small. */
static void placeVehicle(const Canvas *c, const Road *road, Rng *r, Vehicle *v)
{
    int depth = c->h - road->horizon;
    int roll = rngRange(r, 0, 99);
    if (roll < 55)
        v->kind = VB_SYNTH_CAR;
    else if (roll < 78)
        v->kind = VB_SYNTH_TRUCK;
    else
        v->kind = VB_SYNTH_BUS;
    v->side = rngRange(r, 0, 99) < 35;
    v->flip = rngRange(r, 0, 1);
    v->body = vehicleColor(r);
    if (v->kind == VB_SYNTH_TRUCK && rngRange(r, 0, 1))
        v->body = (Rgb){rngRange(r, 200, 240), rngRange(r, 200, 240), rngRange(r, 200, 240)};

    int bottom = road->horizon + depth / 8 + rngRange(r, 0, depth * 4 / 5);
    int left = roadEdge(c, road, road->bottom_left, bottom);
    int right = roadEdge(c, road, road->bottom_right, bottom);
    int lane_w = (right - left) / road->lanes;
    if (lane_w < 6)
        lane_w = 6;

    /* Width and height as per mille of the lane width. */
    static const int rear_w[VB_SYNTH_KIND_COUNT] = {740, 880, 900};
    static const int rear_h[VB_SYNTH_KIND_COUNT] = {820, 1250, 1200};
    static const int side_w[VB_SYNTH_KIND_COUNT] = {1300, 2000, 2300};
    static const int side_h[VB_SYNTH_KIND_COUNT] = {500, 880, 770};
    int scale = rngRange(r, 80, 105);
    int w = (v->side ? side_w[v->kind] : rear_w[v->kind]) * lane_w / 1000 * scale / 100;
    int h = (v->side ? side_h[v->kind] : rear_h[v->kind]) * lane_w / 1000 * scale / 100;
    if (w < 4)
        w = 4;
    if (h < 4)
        h = 4;

    int cx;
    if (v->side) {
        cx = left + rngRange(r, -w / 3, right - left + w / 3);
    } else {
        int lane = rngRange(r, 0, road->lanes - 1);
        cx = left + lane_w * lane + lane_w / 2 + rngRange(r, -lane_w / 10, lane_w / 10);
    }
    v->x0 = cx - w / 2;
    v->x1 = v->x0 + w;
    v->y1 = bottom;
    v->y0 = bottom - h;
}

/* Scales every pixel by a brightness, adds a colour cast and uniform noise. */
static void applyLighting(Canvas *c, Rng *r)
{
    int gain = rngRange(r, 60, 125);
    int cast_r = rngRange(r, -10, 10), cast_g = rngRange(r, -10, 10), cast_b = rngRange(r, -10, 10);
    int noise = rngRange(r, 0, 3) == 0 ? 0 : rngRange(r, 2, 14);
    size_t n = (size_t)c->w * c->h;
    for (size_t i = 0; i < n; i++) {
        uint8_t *p = c->rgb + i * 3;
        int cast[3] = {cast_r, cast_g, cast_b};
        for (int k = 0; k < 3; k++) {
            int v = p[k] * gain / 100 + cast[k];
            if (noise > 0)
                v += rngRange(r, -noise, noise);
            p[k] = (uint8_t)clampInt(v, 0, 255);
        }
    }
}

/* Reads each vehicle's visible box from the owner map. A vehicle gets a box
 * when at least a quarter of its on-canvas area is visible and the box is at
 * least 4 x 4 pixels. Other vehicles stay in the image without a box. */
static void collectBoxes(const Canvas *c, const Vehicle *vehicles, int count, VbSynthScene *scene)
{
    int xmin[VB_SYNTH_MAX_VEHICLES], ymin[VB_SYNTH_MAX_VEHICLES];
    int xmax[VB_SYNTH_MAX_VEHICLES], ymax[VB_SYNTH_MAX_VEHICLES];
    long visible[VB_SYNTH_MAX_VEHICLES];
    for (int k = 0; k < count; k++) {
        xmin[k] = c->w;
        ymin[k] = c->h;
        xmax[k] = ymax[k] = -1;
        visible[k] = 0;
    }
    for (int y = 0; y < c->h; y++) {
        for (int x = 0; x < c->w; x++) {
            int o = c->owner[(size_t)y * c->w + x];
            if (o == 0)
                continue;
            o--;
            visible[o]++;
            if (x < xmin[o]) xmin[o] = x;
            if (x > xmax[o]) xmax[o] = x;
            if (y < ymin[o]) ymin[o] = y;
            if (y > ymax[o]) ymax[o] = y;
        }
    }
    scene->box_count = 0;
    for (int k = 0; k < count; k++) {
        const Vehicle *v = &vehicles[k];
        long area = (long)(clampInt(v->x1, 0, c->w) - clampInt(v->x0, 0, c->w)) *
                    (clampInt(v->y1, 0, c->h) - clampInt(v->y0, 0, c->h));
        if (visible[k] == 0 || visible[k] * 4 < area)
            continue;
        if (xmax[k] - xmin[k] + 1 < 4 || ymax[k] - ymin[k] + 1 < 4)
            continue;
        VbSynthBox *b = &scene->boxes[scene->box_count++];
        b->xmin = xmin[k];
        b->ymin = ymin[k];
        b->xmax = xmax[k] + 1;
        b->ymax = ymax[k] + 1;
        b->kind = v->kind;
    }
}

vb_status vbSynthRender(uint64_t seed, uint32_t index, int width, int height, VbSynthScene *scene,
                        vb_error *err)
{
    memset(scene, 0, sizeof *scene);
    if (width < VB_SYNTH_MIN_SIDE || width > VB_SYNTH_MAX_SIDE || height < VB_SYNTH_MIN_SIDE ||
        height > VB_SYNTH_MAX_SIDE)
        return vbErrorSet(err, VB_ERR_INVALID_ARGUMENT,
                          "synthetic scene size %dx%d is out of range; use sides from %d to %d",
                          width, height, VB_SYNTH_MIN_SIDE, VB_SYNTH_MAX_SIDE);

    Canvas c = {width, height, NULL, NULL};
    size_t pixels = (size_t)width * height;   /* at most 4096 * 4096: no overflow */
    c.rgb = malloc(pixels * 3);
    c.owner = calloc(pixels, 1);
    if (c.rgb == NULL || c.owner == NULL) {
        free(c.rgb);
        free(c.owner);
        return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory for a %dx%d synthetic scene", width,
                          height);
    }

    /* The scene's stream: the seed and the index mixed through splitmix64. */
    Rng mix = {seed};
    Rng r = {rngNext(&mix) ^ ((uint64_t)index * 0xD1B54A32D192ED03ULL)};
    rngNext(&r);

    /* Background: sky, optional buildings, ground and road. */
    Road road;
    road.horizon = height * rngRange(&r, 36, 52) / 100;
    road.vanish_x = width / 2 + rngRange(&r, -width / 6, width / 6);
    road.bottom_left = rngRange(&r, -width / 4, width / 5);
    road.bottom_right = width - rngRange(&r, -width / 4, width / 5);
    road.lanes = rngRange(&r, 2, 4);
    drawSky(&c, &r, road.horizon);
    if (rngRange(&r, 0, 1))
        drawBuildings(&c, &r, road.horizon);
    drawGround(&c, &r, &road);

    /* Vehicles, drawn far to near so nearer ones occlude farther ones. About
     * one scene in eight has none. */
    Vehicle vehicles[VB_SYNTH_MAX_VEHICLES];
    int count = rngRange(&r, 0, 7) == 0 ? 0 : rngRange(&r, 1, 7);
    for (int k = 0; k < count; k++)
        placeVehicle(&c, &road, &r, &vehicles[k]);
    for (int k = 1; k < count; k++) {   /* insertion sort by bottom row, stable */
        Vehicle v = vehicles[k];
        int j = k - 1;
        for (; j >= 0 && vehicles[j].y1 > v.y1; j--)
            vehicles[j + 1] = vehicles[j];
        vehicles[j + 1] = v;
    }
    for (int k = 0; k < count; k++) {
        const Vehicle *v = &vehicles[k];
        int w = v->x1 - v->x0;
        fillRect(&c, v->x0 - w / 20, v->y1 - (v->y1 - v->y0) / 20, v->x1 + w / 20, v->y1 + 2,
                 (Rgb){35, 35, 38}, -1);
        if (v->side)
            drawSide(&c, v, k + 1);
        else
            drawRear(&c, v, k + 1);
    }

    /* Lighting and noise, then the boxes of what stayed visible. */
    applyLighting(&c, &r);
    scene->width = width;
    scene->height = height;
    scene->rgb = c.rgb;
    collectBoxes(&c, vehicles, count, scene);
    free(c.owner);
    return VB_OK;
}

void vbSynthSceneFree(VbSynthScene *scene)
{
    if (scene == NULL)
        return;
    free(scene->rgb);
    scene->rgb = NULL;
    scene->box_count = 0;
}

const char *vbSynthKindName(VbSynthKind kind)
{
    static const char *const names[VB_SYNTH_KIND_COUNT] = {"car", "truck", "bus"};
    return (unsigned)kind < VB_SYNTH_KIND_COUNT ? names[kind] : "unknown";
}

int vbSynthKindCocoId(VbSynthKind kind)
{
    static const int ids[VB_SYNTH_KIND_COUNT] = {3, 8, 6};
    return (unsigned)kind < VB_SYNTH_KIND_COUNT ? ids[kind] : 0;
}
