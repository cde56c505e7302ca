"""Reference data for the detectors: surnames, divisions, plate prefixes, BIN prefixes, area codes.

Plain constants, no logic. Each list says where it comes from and what it deliberately leaves
out, because every entry widens what a detector accepts.
"""

from __future__ import annotations

# About 375 frequent single-character surnames (together well over 95% of the population).
# Characters that are rare as surnames but very common in ordinary words (和, 由, 但, 来, 都, 国,
# 平, 明, 海, 信, 利, 公, 元, 门 …) are left out on purpose: each one would let short non-name
# words such as 平安 or 信息 pass as names.
SINGLE_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付傅方白邹孟熊秦邱江尹薛闫阎段雷侯龙史陶黎贺顾"
    "毛郝龚邵万钱严覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰"
    "焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲"
    "房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟"
    "应臧闵苟邬边卞姬师仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩佘池查麻苑迟邝官封谈匡鞠惠荆乐冀郁胥"
    "南班储栗燕楚鄢劳谌奚皮粟冼蔺楼盘满闻位厉伊仝区郜阚权强帅屠豆朴盖练廉禹井祖漆巴丰卿狄计索"
    "宣晋初扈晁芮普阙浦戈伏鹿薄邸雍辜羊乌母裘亓修邰赫杭况宿鲜印逯隆茹诸战慕危银亢嵇哈湛宾戎勾"
    "茅於呼居揭干尉冶斯束檀衣展阴昝智幸奉植衡富尧闭"
)

# Compound surnames 复姓 (the ones still in use, from the 百家姓 list).
COMPOUND_SURNAMES = (
    "欧阳",
    "司马",
    "上官",
    "诸葛",
    "东方",
    "皇甫",
    "尉迟",
    "公孙",
    "慕容",
    "令狐",
    "长孙",
    "宇文",
    "司徒",
    "夏侯",
    "轩辕",
    "端木",
    "独孤",
    "南宫",
    "西门",
    "闻人",
    "万俟",
    "呼延",
    "赫连",
    "澹台",
    "公冶",
    "太史",
    "申屠",
    "钟离",
    "拓跋",
    "第五",
    "百里",
    "东郭",
    "司空",
    "濮阳",
    "淳于",
    "单于",
    "左丘",
    "宗政",
    "公羊",
    "漆雕",
    "乐正",
    "公良",
    "梁丘",
    "巫马",
    "谷梁",
    "羊舌",
)

# Words that look like a surname plus one or two characters but are places: provinces and the
# larger cities (a column of city names must not pass as person names).
PLACE_NAMES = [
    "北京",
    "天津",
    "上海",
    "重庆",
    "河北",
    "山西",
    "辽宁",
    "吉林",
    "黑龙江",
    "江苏",
    "浙江",
    "安徽",
    "福建",
    "江西",
    "山东",
    "河南",
    "湖北",
    "湖南",
    "广东",
    "海南",
    "四川",
    "贵州",
    "云南",
    "陕西",
    "甘肃",
    "青海",
    "台湾",
    "内蒙古",
    "广西",
    "西藏",
    "宁夏",
    "新疆",
    "香港",
    "澳门",
    "石家庄",
    "太原",
    "沈阳",
    "长春",
    "哈尔滨",
    "南京",
    "杭州",
    "合肥",
    "福州",
    "南昌",
    "济南",
    "郑州",
    "武汉",
    "长沙",
    "广州",
    "海口",
    "成都",
    "贵阳",
    "昆明",
    "西安",
    "兰州",
    "西宁",
    "呼和浩特",
    "南宁",
    "拉萨",
    "银川",
    "乌鲁木齐",
    "深圳",
    "厦门",
    "宁波",
    "青岛",
    "大连",
    "苏州",
    "无锡",
    "常州",
    "温州",
    "佛山",
    "东莞",
    "珠海",
    "汕头",
    "泉州",
    "烟台",
    "潍坊",
    "临沂",
    "徐州",
    "南通",
    "扬州",
    "绍兴",
    "嘉兴",
    "金华",
    "台州",
    "洛阳",
    "襄阳",
    "宜昌",
    "岳阳",
    "常德",
    "衡阳",
    "株洲",
    "湘潭",
    "柳州",
    "桂林",
    "遵义",
    "曲靖",
    "绵阳",
    "宝鸡",
    "包头",
    "鄂尔多斯",
    "唐山",
    "保定",
    "邯郸",
    "秦皇岛",
    "廊坊",
    "沧州",
    "大同",
    "鞍山",
    "齐齐哈尔",
    "大庆",
    "芜湖",
    "蚌埠",
    "黄山",
    "九江",
    "赣州",
    "淄博",
    "威海",
    "日照",
    "开封",
    "安阳",
    "南阳",
    "荆州",
    "黄石",
    "十堰",
    "张家界",
    "江门",
    "湛江",
    "惠州",
    "中山",
    "三亚",
    "乐山",
    "南充",
    "宜宾",
    "自贡",
    "攀枝花",
    "丽江",
    "大理",
    "延安",
    "汉中",
    "天水",
    "酒泉",
    "石嘴山",
    "克拉玛依",
    "喀什",
    "伊犁",
    "黄河",
    "长江",
    "泰山",
    "华山",
]

# First two digits of a resident ID: the province-level division (GB/T 2260), plus 71 Taiwan,
# 81 Hong Kong, 82 Macao and 83 (the residence permits for Taiwan residents use 830000).
ID_PROVINCE_CODES = [
    "11",
    "12",
    "13",
    "14",
    "15",
    "21",
    "22",
    "23",
    "31",
    "32",
    "33",
    "34",
    "35",
    "36",
    "37",
    "41",
    "42",
    "43",
    "44",
    "45",
    "46",
    "50",
    "51",
    "52",
    "53",
    "54",
    "61",
    "62",
    "63",
    "64",
    "65",
    "71",
    "81",
    "82",
    "83",
]

# One-character province abbreviations on licence plates (GA 36-2018), in the order of the
# plate-prefix table.
PLATE_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"

# Last character of special plates: trailers, driving schools, police, Hong Kong and Macao
# cross-border, consulates, test and oversize vehicles.
PLATE_SUFFIXES = "挂学警港澳领试超"

# Card BIN prefixes accepted for 16–19 digit numbers (ISO/IEC 7812 issuer ranges seen on cards
# issued or used in China): UnionPay 62 and 60 (e.g. 601382 Bank of China), Visa 4,
# Mastercard 51–55 and 2221–2720, JCB 3528–3589, and the legacy domestic 94/95 prefixes (9558 ICBC,
# 9559 ABC). American Express (15 digits) and Diners (14) are outside the 16–19 length.
BIN_PREFIX_PATTERN = (
    "(?:62|60|4|5[1-5]|222[1-9]|22[3-9][0-9]|2[3-6][0-9]{2}|27[01][0-9]|2720"
    "|35(?:2[89]|[3-8][0-9])|9[45])"
)

# Long-distance area codes without the leading 0: the 3-digit Beijing 10 and 2x codes, then the
# 4-digit 3xx–9xx codes (every national code has this shape; not every such code is assigned).
AREA_CODE_PATTERN = "(?:10|2[0-9]|[3-9][0-9]{2})"

# Mobile network prefixes (MIIT number plan): 13x, 145–149, 150–153, 155–159, 162, 165–167,
# 170–178, 18x, 190–193, 195–199. 140–144 are data-only IoT ranges and left out.
MOBILE_PREFIX_PATTERN = "1(?:3[0-9]|4[5-9]|5[0-35-9]|6[2567]|7[0-8]|8[0-9]|9[0-35-9])"

# Address markers. Division markers name the administrative part, detail markers the part below
# (a street and a number, a village group, a building and a room).
ADDRESS_DIVISION_MARKERS = (
    "省",
    "自治区",
    "市",
    "自治州",
    "地区",
    "盟",
    "区",
    "县",
    "旗",
    "镇",
    "乡",
)
ADDRESS_DETAIL_MARKERS = (
    "街道",
    "路",
    "街",
    "大道",
    "巷",
    "弄",
    "胡同",
    "村",
    "组",
    "号",
    "栋",
    "幢",
    "单元",
    "室",
    "楼",
    "层",
    "小区",
    "社区",
    "大厦",
    "花园",
    "公寓",
)

# An address never ends like an organization's name.
ORGANIZATION_ENDINGS = (
    "公司",
    "集团",
    "厂",
    "店",
    "银行",
    "医院",
    "学校",
    "大学",
    "学院",
    "委员会",
    "局",
    "所",
    "部",
    "处",
    "办",
    "站",
    "中心",
    "协会",
    "合作社",
)

# A person's name never ends with these characters (places, organizations, units).
NON_NAME_ENDINGS = "省市区县镇乡村路街巷号室楼店厂局院所司部处科队站馆厅社委办校行"

# Forms of address and notes written after a name on forms (张三先生, 李四（女士）). Under a
# person-name hint they are stripped before the name is checked; the name itself must still be
# a surname plus one or two characters, so 王先生 (a surname alone) is no name.
NAME_HONORIFICS = (
    "先生",
    "女士",
    "小姐",
    "老师",
    "同志",
    "师傅",
    "医生",
    "律师",
    "阿姨",
    "夫人",
    "太太",
    "本人",
)

# Values that stand for "no value" in Chinese and English forms. They say nothing about what a
# column holds, so the share of valid values is taken over the other values: padding a column
# with 无 or N/A does not hide the identifiers in it.
PLACEHOLDERS = (
    "-",
    "--",
    "---",
    "—",
    "——",
    "/",
    "\\",
    "*",
    "?",
    "？",
    ".",
    "0",
    "无",
    "暂无",
    "空",
    "未知",
    "不详",
    "未填",
    "未提供",
    "N/A",
    "n/a",
    "NA",
    "na",
    "null",
    "NULL",
    "Null",
    "none",
    "None",
    "NONE",
    "nil",
)
